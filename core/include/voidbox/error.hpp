// The error every fallible call of the embedding API returns as a value:
// Result<T> = std::expected<T, Error>.
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "voidbox/protocol/messages.hpp"

namespace voidbox {

struct Error {
  enum class Kind {
    // Talking to the guest agent.
    connect,    // could not reach the guest agent before the deadline
    auth,       // the guest refused our secret
    version,    // no common protocol version
    timeout,    // the call's deadline passed
    closed,     // the connection died (or the sandbox is shutting down)
    guest,      // the guest answered with an Error (see guest_code)
    protocol,   // the guest sent something malformed
    too_large,  // a reply exceeded the caller's bound
    // Making sandboxes and running specs.
    not_supported,  // the spec asks for something this runtime cannot run yet
    invalid_spec,   // the spec is inconsistent in a way parsing did not catch
    sandbox,        // no sandbox could be made (backend, boot, host resources)
    failed,         // the run's own work failed in a way that is not a step result
  };
  Kind kind = Kind::closed;
  std::string message;
  std::optional<protocol::ErrorCode> guest_code;  // set when kind == guest
};

std::string to_string(Error::Kind kind);

template <class T>
using Result = std::expected<T, Error>;

}  // namespace voidbox
