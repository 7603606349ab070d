#include "voidbox/error.hpp"

namespace voidbox {

std::string to_string(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::connect:
      return "connect";
    case Error::Kind::auth:
      return "auth";
    case Error::Kind::version:
      return "version";
    case Error::Kind::timeout:
      return "timeout";
    case Error::Kind::closed:
      return "closed";
    case Error::Kind::guest:
      return "guest";
    case Error::Kind::protocol:
      return "protocol";
    case Error::Kind::too_large:
      return "too_large";
    case Error::Kind::not_supported:
      return "not_supported";
    case Error::Kind::invalid_spec:
      return "invalid_spec";
    case Error::Kind::sandbox:
      return "sandbox";
    case Error::Kind::failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace voidbox
