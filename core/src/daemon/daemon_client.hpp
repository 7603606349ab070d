// A small synchronous HTTP/1.1 client for the daemon (Unix socket or TCP
// with a bearer token), used by the CLI verbs, the benchmarks and tests.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/endpoint.hpp"

namespace voidbox::daemon {

struct ClientResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

class DaemonClient {
 public:
  DaemonClient(Endpoint endpoint, std::optional<std::string> token);
  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  // One request on the kept-alive connection (reconnecting when the
  // daemon closed it). Errors are transport failures; HTTP errors are
  // responses.
  std::expected<ClientResponse, std::string> request(const std::string& method,
                                                     const std::string& target,
                                                     const std::string& body = {});

  // GET target with Accept: text/event-stream on its own connection; calls
  // on_event(id, type, data) per event until it returns false or the stream
  // ends. Returns the HTTP status, or the transport error.
  std::expected<int, std::string> stream(
      const std::string& target,
      const std::function<bool(const std::string&, const std::string&, const std::string&)>&
          on_event);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voidbox::daemon
