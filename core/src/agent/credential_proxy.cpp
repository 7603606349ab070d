// The proxy's guest-facing side: a loopback listener, one thread per guest
// connection (a run has a handful), requests parsed by Beast's bounded
// parser, then checked (token, method, target) before anything is forwarded.
#include "agent/credential_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "agent/proxy_internal.hpp"
#include "agent/url.hpp"

namespace voidbox::agent {

namespace http = boost::beast::http;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool same_secret(std::string_view a, std::string_view b) {
  // The placeholder's length is not secret; its bytes are compared in constant time.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool send_error(int fd, int status, std::string_view type, std::string_view message) {
  namespace json = boost::json;
  const std::string body = json::serialize(json::object{
      {"type", "error"}, {"error", json::object{{"type", type}, {"message", message}}}});
  const std::string reply =
      "HTTP/1.1 " + std::to_string(status) + " " +
      std::string(http::obsolete_reason(static_cast<http::status>(status))) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  return detail::send_all(fd, reply);
}

// Only origin-form targets under the upstream's base path; no dot segments or
// encoded separators that an upstream might normalise into another path.
bool target_allowed(std::string_view target, const std::string& base_path) {
  if (!target.starts_with('/')) return false;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string low = lower(path);
  if (low.find("%2e") != std::string::npos || low.find("%2f") != std::string::npos ||
      low.find("%5c") != std::string::npos || low.find('\\') != std::string::npos) {
    return false;
  }
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return false;
    start = end + 1;
  }
  if (base_path.empty()) return true;
  return path == base_path || path.starts_with(base_path + "/");
}

}  // namespace

namespace detail {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;  // closed, or SO_SNDTIMEO passed
    }
  }
  return true;
}

}  // namespace detail

struct CredentialProxy::Impl {
  Options options;
  Url upstream;
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // the destructor writes here to stop the accept loop
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex mutex;
  struct Connection {
    int fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Connection> connections;
  std::atomic<std::uint64_t> forwarded{0}, rejected_auth{0}, rejected_request{0},
      upstream_failed{0};

  void accept_loop();
  void serve(int fd);
  // false: close the connection
  bool handle(int fd, http::request_parser<http::string_body>& parser);
  void reap_finished();
};

void CredentialProxy::Impl::reap_finished() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (it->done.load()) {
      it->thread.join();
      ::close(it->fd);
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void CredentialProxy::Impl::accept_loop() {
  while (!stopping.load()) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (stopping.load() || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex);
    reap_finished();
    if (connections.size() >= options.max_connections) {
      send_error(fd, 503, "overloaded_error", "too many connections to the credential proxy");
      ::close(fd);
      continue;
    }
    timeval tv{static_cast<time_t>(options.idle_timeout.count()), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    Connection& c = connections.emplace_back();
    c.fd = fd;
    c.thread = std::thread([this, &c] {
      serve(c.fd);
      c.done.store(true);
    });
  }
}

void CredentialProxy::Impl::serve(int fd) {
  boost::beast::flat_buffer buffer;
  while (!stopping.load()) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    boost::beast::error_code ec;
    // Feed the parser from the socket until it has a whole request.
    while (!parser.is_done()) {
      if (buffer.size() > 0) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) ec = {};
        if (ec || parser.is_done()) break;
        if (used > 0 && buffer.size() > 0) continue;  // progress: parse the rest first
      }
      auto space = buffer.prepare(16u << 10);
      const ssize_t n = ::recv(fd, space.data(), space.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // closed, or idle past the timeout
      buffer.commit(static_cast<std::size_t>(n));
    }
    if (ec) {
      ++rejected_request;
      if (ec == http::error::header_limit) {
        send_error(fd, 431, "invalid_request_error", "request headers too large");
      } else if (ec == http::error::body_limit) {
        send_error(fd, 413, "request_too_large", "request body too large");
      } else {
        send_error(fd, 400, "invalid_request_error", "malformed request");
      }
      return;
    }
    if (!handle(fd, parser)) return;
  }
}

bool CredentialProxy::Impl::handle(int fd, http::request_parser<http::string_body>& parser) {
  http::request<http::string_body>& req = parser.get();
  // Authenticate first: nothing about an unauthenticated request is looked at further.
  std::string_view token;
  if (auto it = req.find("x-api-key"); it != req.end()) {
    token = std::string_view(it->value().data(), it->value().size());
  } else if (auto auth = req.find(http::field::authorization); auth != req.end()) {
    const std::string_view value(auth->value().data(), auth->value().size());
    if (lower(value.substr(0, 7)) == "bearer ") token = value.substr(7);
  }
  if (token.empty()) {
    ++rejected_auth;
    send_error(fd, 401, "authentication_error", "missing credential-proxy token");
    return false;
  }
  if (!same_secret(token, options.placeholder)) {
    ++rejected_auth;
    send_error(fd, 403, "permission_error", "wrong credential-proxy token");
    return false;
  }
  const std::string_view target(req.target().data(), req.target().size());
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    ++rejected_request;
    send_error(fd, 405, "invalid_request_error", "only GET and POST are forwarded");
    return false;
  }
  if (!target_allowed(target, upstream.path)) {
    ++rejected_request;
    send_error(fd, 403, "permission_error", "path is outside the configured base URL");
    return false;
  }

  detail::OutboundRequest out;
  out.method = req.method() == http::verb::post ? "POST" : "GET";
  out.url = upstream.origin() + std::string(target);
  std::string beta;
  for (const auto& field : req) {
    const std::string name =
        lower(std::string_view(field.name_string().data(), field.name_string().size()));
    const std::string value(field.value().data(), field.value().size());
    if (detail::is_hop_by_hop(name) || name == "host" || name == "content-length" ||
        name == "expect" || name == "x-api-key" || name == "authorization") {
      continue;
    }
    if (name == "anthropic-beta") {
      beta = value;
      continue;
    }
    out.headers.emplace_back(std::string(field.name_string().data(), field.name_string().size()),
                             value);
  }
  const Credential& cred = options.upstream.credential;
  if (cred.scheme == Credential::Scheme::x_api_key) {
    out.headers.emplace_back("x-api-key", cred.secret);
  } else {
    out.headers.emplace_back("Authorization", "Bearer " + cred.secret);
  }
  if (cred.oauth && beta.find("oauth-2025-04-20") == std::string::npos) {
    beta = beta.empty() ? "oauth-2025-04-20" : beta + ",oauth-2025-04-20";
  }
  if (!beta.empty()) out.headers.emplace_back("anthropic-beta", beta);
  out.body = std::move(req.body());
  const bool keep_alive = req.keep_alive();

  ++forwarded;
  const detail::ForwardResult result = detail::forward(out, fd, options, stopping);
  if (!result.ok) {
    ++upstream_failed;
    if (!result.response_started) {
      send_error(fd, 502, "api_error", "credential proxy: upstream failed: " + result.error);
    }
    return false;
  }
  return keep_alive;
}

CredentialProxy::CredentialProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::expected<std::unique_ptr<CredentialProxy>, std::string> CredentialProxy::start(
    Options options) {
  if (options.placeholder.size() < 16) return std::unexpected("placeholder token too short");
  if (options.upstream.credential.secret.empty()) return std::unexpected("no credential to inject");
  auto upstream = parse_url(options.upstream.base_url);
  if (!upstream) return std::unexpected("credential proxy upstream: " + upstream.error());
  auto impl = std::make_unique<Impl>();
  impl->upstream = *upstream;
  impl->options = std::move(options);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
  impl->listen_fd = fd;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(impl->options.port);
  if (::inet_pton(AF_INET, impl->options.bind_address.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    return std::unexpected("bad bind address " + impl->options.bind_address);
  }
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(impl->wake, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return std::unexpected("credential proxy listen on " + impl->options.bind_address + ": " + why);
  }
  impl->port = ntohs(addr.sin_port);
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<CredentialProxy>(new CredentialProxy(std::move(impl)));
}

CredentialProxy::~CredentialProxy() {
  impl_->stopping.store(true);
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(impl_->wake[1], &byte, 1);
  impl_->acceptor.join();
  std::lock_guard lock(impl_->mutex);
  // Unblock reads and writes; libcurl transfers see `stopping` and abort.
  for (auto& c : impl_->connections) ::shutdown(c.fd, SHUT_RDWR);
  for (auto& c : impl_->connections) {
    c.thread.join();
    ::close(c.fd);
  }
  ::close(impl_->listen_fd);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

std::uint16_t CredentialProxy::port() const {
  return impl_->port;
}

ProxyEndpoint CredentialProxy::guest_endpoint() const {
  return {std::string("http://") + kGuestGateway + ":" + std::to_string(impl_->port),
          impl_->options.placeholder};
}

ProxyStats CredentialProxy::stats() const {
  return {impl_->forwarded.load(), impl_->rejected_auth.load(), impl_->rejected_request.load(),
          impl_->upstream_failed.load()};
}

}  // namespace voidbox::agent
