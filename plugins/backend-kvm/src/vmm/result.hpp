// Errors are values on every path of the VMM: the SDK's one error type. VMM
// failures that never cross the plugin boundary carry VB_ERR_INTERNAL.
#pragma once

#include <string>

#include "voidbox/sdk/error.hpp"

namespace voidbox::kvm {

using voidbox::sdk::Error;
using voidbox::sdk::Result;

inline std::unexpected<Error> fail(std::string message) {
  return voidbox::sdk::fail(VB_ERR_INTERNAL, std::move(message));
}

// For a failed system call: appends strerror(errno).
inline std::unexpected<Error> fail_errno(const std::string& what) {
  return voidbox::sdk::fail_errno(VB_ERR_INTERNAL, what);
}

}  // namespace voidbox::kvm
