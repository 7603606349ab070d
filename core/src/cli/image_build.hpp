// `voidbox image build claude|codex`: the agent disk for a guest flavor.
#pragma once

#include <string>
#include <vector>

#include "cli/verb.hpp"

namespace voidbox::cli {

int cmd_image_build(VerbContext& ctx, const std::vector<std::string>& args);

}  // namespace voidbox::cli
