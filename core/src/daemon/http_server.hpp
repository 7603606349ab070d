// The daemon's HTTP/1.1 server (Boost.Beast, keep-alive) on a Unix socket
// (mode 0600) or, with a bearer token, on TCP. Requests go to a Router;
// server-sent event streams follow a run's events as they are stored.
#pragma once

#include <cstddef>
#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "daemon/endpoint.hpp"
#include "daemon/router.hpp"

namespace voidbox::daemon {

struct ServerOptions {
  Endpoint endpoint;
  std::optional<std::string> token;  // required on TCP
  std::size_t threads = 4;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::size_t max_connections = 256;
  int idle_timeout_secs = 60;
};

class HttpServer {
 public:
  // Binds and starts serving on background threads; fails (with why) when
  // it cannot bind, when another daemon answers on the socket, or on TCP
  // without a token.
  static std::expected<std::unique_ptr<HttpServer>, std::string> start(ServerOptions options,
                                                                       Router& router,
                                                                       RunManager& runs);
  ~HttpServer();  // stops, joins, and removes the socket file
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Where it listens; for tcp port 0, the port chosen.
  const Endpoint& endpoint() const;

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voidbox::daemon
