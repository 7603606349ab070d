#pragma once

#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::kvm {

using voidbox::sdk::UniqueFd;

}  // namespace voidbox::kvm
