// Errors are values on every path of the VMM: a failure carries a sentence
// that names what failed and, where known, why.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace voidbox::kvm {

struct Error {
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected(Error{std::move(message)});
}

// For a failed system call: appends strerror(errno).
inline std::unexpected<Error> fail_errno(const std::string& what) {
  return std::unexpected(Error{what + ": " + std::strerror(errno)});
}

}  // namespace voidbox::kvm
