// The upstream lookup behind the policy resolver. The transport implements
// it (against the host's resolver or a configured server); tests use a fake.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <vector>

#include "filter/net_types.hpp"

namespace voidbox::net {

struct ResolvedAddresses {
  std::vector<Ipv4> addresses;  // A records; empty: the name has no IPv4 address
  std::uint32_t ttl_seconds = 0;
};

enum class ResolveError {
  not_found,  // the name does not exist: NXDOMAIN to the guest
  failed,     // no answer (timeout, upstream error): SERVFAIL to the guest
};

class Resolver {
 public:
  using Callback = std::function<void(std::expected<ResolvedAddresses, ResolveError>)>;
  virtual ~Resolver() = default;
  // Looks up the A records of `name` (lower case, no trailing dot). `done`
  // runs exactly once, either before resolve() returns or later, but always
  // on the thread that drives the FrameFilter (the VMM's event loop).
  virtual void resolve(const std::string& name, Callback done) = 0;
};

}  // namespace voidbox::net
