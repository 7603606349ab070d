// The per-run credential proxy: an HTTP/1.1 server on the host's loopback
// that the guest reaches through the gateway (10.0.2.2:PORT). It serves only
// requests that carry the run's placeholder token (x-api-key or
// Authorization: Bearer) and only under the upstream base URL's path, swaps
// the token for the real credential, forwards with libcurl (TLS for https
// upstreams) and streams the response back as it arrives, so SSE stays live.
// The real credential never leaves this process except towards the upstream,
// and nothing here logs headers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "agent/provider.hpp"

namespace voidbox::agent {

struct ProxyStats {
  std::uint64_t forwarded = 0;         // requests sent upstream
  std::uint64_t rejected_auth = 0;     // missing or wrong placeholder
  std::uint64_t rejected_request = 0;  // bad target, method, size or syntax
  std::uint64_t upstream_failed = 0;   // libcurl could not complete the exchange
};

class CredentialProxy {
 public:
  struct Options {
    ProxyUpstream upstream;   // where to forward, with the real credential
    std::string placeholder;  // the token the guest was given
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: chosen by the OS
    std::size_t max_header_bytes = 64u << 10;
    std::size_t max_body_bytes = 32u << 20;
    std::size_t max_connections = 16;
    std::chrono::seconds idle_timeout{60};  // per read/write on a guest connection
    std::chrono::seconds connect_timeout{10};
  };

  static std::expected<std::unique_ptr<CredentialProxy>, std::string> start(Options options);

  // Stops accepting, aborts transfers in flight and joins every thread.
  ~CredentialProxy();
  CredentialProxy(const CredentialProxy&) = delete;
  CredentialProxy& operator=(const CredentialProxy&) = delete;

  std::uint16_t port() const;
  // What guest_launch() needs: http://10.0.2.2:PORT and the placeholder.
  ProxyEndpoint guest_endpoint() const;
  ProxyStats stats() const;

  struct Impl;

 private:
  explicit CredentialProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voidbox::agent
