// g++ 12 reports false -Wnull-dereference inside Boost.Asio's scheduler once
// inlined here (thread_info of the calling thread, never null there).
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "daemon/daemon_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <variant>

namespace voidbox::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;

namespace {

using AnySocket = std::variant<std::monostate, local::socket, tcp::socket>;

}  // namespace

struct DaemonClient::Impl {
  Endpoint endpoint;
  std::optional<std::string> token;
  asio::io_context ioc;
  AnySocket socket;
  beast::flat_buffer buffer;

  std::expected<AnySocket, std::string> connect() {
    beast::error_code ec;
    if (endpoint.tcp) {
      tcp::resolver resolver(ioc);
      auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
      if (ec) return std::unexpected("cannot resolve " + endpoint.host + ": " + ec.message());
      tcp::socket s(ioc);
      asio::connect(s, results, ec);
      if (ec)
        return std::unexpected("cannot connect to " + endpoint.to_string() + ": " + ec.message());
      s.set_option(tcp::no_delay(true), ec);
      return AnySocket(std::move(s));
    }
    local::socket s(ioc);
    s.connect(local::endpoint(endpoint.path), ec);
    if (ec) {
      return std::unexpected("cannot connect to the daemon at " + endpoint.path + ": " +
                             ec.message() + " (is `voidbox serve` running?)");
    }
    return AnySocket(std::move(s));
  }

  http::request<http::string_body> make(const std::string& method, const std::string& target,
                                        const std::string& body) {
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, endpoint.tcp ? endpoint.host : "localhost");
    req.set(http::field::user_agent, "voidbox");
    if (token) req.set(http::field::authorization, "Bearer " + *token);
    if (!body.empty() || method == "POST" || method == "PUT") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }
};

DaemonClient::DaemonClient(Endpoint endpoint, std::optional<std::string> token)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->token = std::move(token);
}

DaemonClient::~DaemonClient() = default;

std::expected<ClientResponse, std::string> DaemonClient::request(const std::string& method,
                                                                 const std::string& target,
                                                                 const std::string& body) {
  auto req = impl_->make(method, target, body);
  // A kept-alive connection the daemon closed fails on first use: retry
  // once on a fresh one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = !std::holds_alternative<std::monostate>(impl_->socket);
    if (!reused) {
      auto s = impl_->connect();
      if (!s) return std::unexpected(s.error());
      impl_->socket = std::move(*s);
      impl_->buffer.clear();
    }
    beast::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    std::visit(
        [&](auto& s) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, std::monostate>) {
            http::write(s, req, ec);
            if (!ec) http::read(s, impl_->buffer, parser, ec);
          }
        },
        impl_->socket);
    if (ec) {
      impl_->socket = std::monostate{};
      if (reused) continue;
      return std::unexpected("the daemon connection failed: " + ec.message());
    }
    auto& res = parser.get();
    ClientResponse out{static_cast<int>(res.result_int()),
                       std::string(res[http::field::content_type]), std::move(res.body())};
    if (!res.keep_alive()) impl_->socket = std::monostate{};
    return out;
  }
  return std::unexpected(std::string("the daemon closed the connection"));
}

std::expected<int, std::string> DaemonClient::stream(
    const std::string& target,
    const std::function<bool(const std::string&, const std::string&, const std::string&)>&
        on_event) {
  auto s = impl_->connect();
  if (!s) return std::unexpected(s.error());
  auto req = impl_->make("GET", target, {});
  req.set(http::field::accept, "text/event-stream");
  req.keep_alive(false);
  beast::error_code ec;
  int status = 0;
  std::visit(
      [&](auto& sock) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(sock)>, std::monostate>) {
          http::write(sock, req, ec);
          if (ec) return;
          beast::flat_buffer buffer;
          http::response_parser<http::buffer_body> parser;
          parser.body_limit(boost::none);
          http::read_header(sock, buffer, parser, ec);
          if (ec) return;
          status = static_cast<int>(parser.get().result_int());
          std::string pending;
          std::string id, type, data;
          char chunk[8192];
          bool go_on = true;
          while (go_on && !parser.is_done()) {
            parser.get().body().data = chunk;
            parser.get().body().size = sizeof chunk;
            // read_some: each event as it arrives, not once the buffer is full.
            http::read_some(sock, buffer, parser, ec);
            if (ec == http::error::need_buffer) ec = {};
            if (ec) break;
            pending.append(chunk, sizeof chunk - parser.get().body().size);
            std::size_t nl;
            while (go_on && (nl = pending.find('\n')) != std::string::npos) {
              std::string line = pending.substr(0, nl);
              pending.erase(0, nl + 1);
              if (line.empty()) {
                if (!type.empty() || !data.empty()) go_on = on_event(id, type, data);
                id.clear();
                type.clear();
                data.clear();
              } else if (line.starts_with("id: ")) {
                id = line.substr(4);
              } else if (line.starts_with("event: ")) {
                type = line.substr(7);
              } else if (line.starts_with("data: ")) {
                data += line.substr(6);
              }
            }
          }
          if (ec == http::error::end_of_stream || ec == asio::error::eof) ec = {};
        }
      },
      *s);
  if (ec) return std::unexpected("the event stream failed: " + ec.message());
  return status;
}

}  // namespace voidbox::daemon
