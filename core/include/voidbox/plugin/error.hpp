// The error a plugin call or lookup reports to the runtime.
#pragma once

#include <string>

#include "voidbox/plugin_abi.h"

namespace voidbox::plugin {

struct Error {
  vb_status status = VB_ERR_INTERNAL;
  std::string message;
};

}  // namespace voidbox::plugin
