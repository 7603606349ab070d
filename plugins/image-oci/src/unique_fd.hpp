#pragma once

#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::oci {

using voidbox::sdk::UniqueFd;

}  // namespace voidbox::oci
