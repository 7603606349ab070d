// Errors on both sides of the plugin boundary: the one C++ error value of
// VoidBox (plugins, the VMM, the runtime's plugin wrappers), and safe writing
// into a caller-owned vb_error.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include "voidbox/plugin_abi.h"

namespace voidbox::sdk {

// A failed call: the status that crosses the C boundary plus a sentence
// naming what failed and, where known, why.
struct Error {
  vb_status status = VB_ERR_INTERNAL;
  std::string message;
  bool retryable = false;  // a transient failure (e.g. a dropped connection) worth another try
};
using Failure = Error;  // the SDK's earlier name

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(vb_status status, std::string message) {
  return std::unexpected(Error{status, std::move(message)});
}

// For a failed system call: `what` plus strerror(errno).
inline std::unexpected<Error> fail_errno(vb_status status, const std::string& what) {
  return std::unexpected(Error{status, what + ": " + std::strerror(errno)});
}

inline const char* status_name(vb_status status) noexcept {
  switch (status) {
    case VB_OK:
      return "ok";
    case VB_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case VB_ERR_UNSUPPORTED:
      return "unsupported";
    case VB_ERR_NOT_FOUND:
      return "not found";
    case VB_ERR_IO:
      return "i/o error";
    case VB_ERR_TIMEOUT:
      return "timeout";
    case VB_ERR_GUEST:
      return "guest error";
    case VB_ERR_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

// Copies `message` into the caller's buffer, truncating to fit and always
// NUL-terminating. Tolerates a null error, a null buffer, a zero capacity and
// a struct_size too small to hold the buffer fields (then nothing is written).
inline void write_error(vb_error* error, std::string_view message) noexcept {
  if (error == nullptr || error->struct_size < sizeof(vb_error)) return;
  if (error->message == nullptr || error->capacity == 0) return;
  const std::size_t n = message.size() < error->capacity ? message.size() : error->capacity - 1;
  if (n != 0) std::memcpy(error->message, message.data(), n);
  error->message[n] = '\0';
}

// Host side: a vb_error with its own storage, to pass into a plugin call.
class ErrorBuffer {
 public:
  ErrorBuffer() noexcept : error_{sizeof(vb_error), storage_, sizeof storage_} {
    storage_[0] = '\0';
  }
  ErrorBuffer(const ErrorBuffer&) = delete;
  ErrorBuffer& operator=(const ErrorBuffer&) = delete;

  vb_error* get() noexcept { return &error_; }
  // The message the callee wrote; the buffer is re-terminated in case a
  // careless callee filled it without a NUL.
  std::string_view message() noexcept {
    storage_[sizeof storage_ - 1] = '\0';
    return std::string_view(storage_);
  }
  // "message" if the callee wrote one, otherwise the status's name.
  std::string describe(vb_status status) {
    std::string_view text = message();
    return text.empty() ? std::string(status_name(status)) : std::string(text);
  }

 private:
  char storage_[1024];
  vb_error error_;
};

}  // namespace voidbox::sdk
