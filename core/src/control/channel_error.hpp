// Why a control-channel call failed.
#pragma once

#include <optional>
#include <string>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::control {

struct ChannelError {
  enum class Kind {
    connect,    // could not reach the guest agent before the deadline
    auth,       // the guest refused our secret
    version,    // no common protocol version
    timeout,    // the call's deadline passed
    closed,     // the connection died (or the channel is shutting down)
    guest,      // the guest answered with an Error (see guest_code)
    protocol,   // the guest sent something malformed
    too_large,  // a reply exceeded the caller's bound
  };
  Kind kind = Kind::closed;
  std::string message;
  std::optional<protocol::ErrorCode> guest_code;
};

inline std::string to_string(ChannelError::Kind kind) {
  switch (kind) {
    case ChannelError::Kind::connect:
      return "connect";
    case ChannelError::Kind::auth:
      return "auth";
    case ChannelError::Kind::version:
      return "version";
    case ChannelError::Kind::timeout:
      return "timeout";
    case ChannelError::Kind::closed:
      return "closed";
    case ChannelError::Kind::guest:
      return "guest";
    case ChannelError::Kind::protocol:
      return "protocol";
    case ChannelError::Kind::too_large:
      return "too_large";
  }
  return "unknown";
}

}  // namespace voidbox::control
