// The daemon half of `voidbox run`.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

#include "cli/verb.hpp"

namespace voidbox::cli {

int run_on_daemon(VerbContext& ctx, const boost::program_options::variables_map& vm,
                  const std::string& file, const std::optional<std::string>& input);

}  // namespace voidbox::cli
