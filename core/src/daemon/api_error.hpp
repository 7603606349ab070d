// The original's error object, {code, message, retryable}, with the HTTP
// status it goes out with.
#pragma once

#include <expected>
#include <string>

namespace voidbox::daemon {

struct ApiError {
  int status = 500;
  std::string code = "INTERNAL_ERROR";
  std::string message;
  bool retryable = false;
};

template <class T>
using ApiResult = std::expected<T, ApiError>;

inline ApiError not_found(std::string message) {
  return {404, "NOT_FOUND", std::move(message), false};
}
inline ApiError invalid_params(std::string message) {
  return {400, "INVALID_PARAMS", std::move(message), false};
}
inline ApiError internal_error(std::string message) {
  return {500, "INTERNAL_ERROR", std::move(message), true};
}

// {"code":..., "message":..., "retryable":...}
std::string error_body(const ApiError& error);

}  // namespace voidbox::daemon
