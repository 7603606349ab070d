// Errors inside the OCI plugin: values, converted to vb_status + message at
// the C boundary.
#pragma once

#include <expected>
#include <string>

#include "voidbox/plugin_abi.h"

namespace voidbox::oci {

struct Error {
  vb_status status = VB_ERR_INTERNAL;
  std::string message;
  bool retryable = false;  // a transport failure worth another attempt
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(vb_status status, std::string message) {
  return std::unexpected(Error{status, std::move(message)});
}

}  // namespace voidbox::oci
