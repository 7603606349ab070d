// Shared between the proxy's guest-facing server and its libcurl upstream leg.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/credential_proxy.hpp"

namespace voidbox::agent::detail {

// A guest connection: a blocking socket with send/receive timeouts set.
bool send_all(int fd, std::string_view data);

// A request that passed the checks, ready to forward.
struct OutboundRequest {
  std::string method;                                        // GET or POST
  std::string url;                                           // upstream origin + the guest's target
  std::vector<std::pair<std::string, std::string>> headers;  // filtered, credential added
  std::string body;
};

struct ForwardResult {
  bool ok = false;                // the whole response reached the guest
  bool response_started = false;  // bytes already went to the guest (no error reply possible)
  std::string error;              // libcurl's reason, without headers or URL credentials
};

// Sends the request upstream and streams the response to `client_fd` as a
// chunked HTTP/1.1 response, aborting when `stopping` is set.
ForwardResult forward(const OutboundRequest& request, int client_fd,
                      const CredentialProxy::Options& options, const std::atomic<bool>& stopping);

// True for headers that describe one connection and must not be forwarded.
bool is_hop_by_hop(std::string_view lower_name);

}  // namespace voidbox::agent::detail
