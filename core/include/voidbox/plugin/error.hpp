// The error a plugin call or lookup reports to the runtime: the SDK's one
// error type, so a plugin's failure reaches the caller unchanged.
#pragma once

#include "voidbox/sdk/error.hpp"

namespace voidbox::plugin {

using voidbox::sdk::Error;

}  // namespace voidbox::plugin
