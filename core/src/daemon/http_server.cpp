// g++ 12 reports false -Wnull-dereference inside Boost.Asio's scheduler once
// inlined here (thread_info of the calling thread, never null there).
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "daemon/http_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "daemon/api_error.hpp"

namespace voidbox::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;

namespace {

// Asio opens sockets without close-on-exec; a sandbox process spawned from
// the daemon must not inherit (and keep alive) the listening socket.
void set_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

constexpr auto kHeartbeat = std::chrono::seconds(15);

struct Shared {
  ServerOptions options;
  Router& router;
  RunManager& runs;
  std::atomic<std::size_t> connections{0};
};

template <class Protocol>
class Session : public std::enable_shared_from_this<Session<Protocol>> {
  using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;

 public:
  Session(typename Protocol::socket socket, Shared& shared)
      : stream_(std::move(socket)), shared_(shared), heartbeat_(stream_.get_executor()) {
    ++shared_.connections;
  }
  ~Session() {
    if (subscription_ != 0) shared_.runs.unsubscribe(subscription_);
    --shared_.connections;
  }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read, this->shared_from_this()));
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_.options.header_limit));
    parser_->body_limit(shared_.options.body_limit);
    stream_.expires_after(std::chrono::seconds(shared_.options.idle_timeout_secs));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    if (ec == http::error::body_limit) {
      return send_error({413, "PAYLOAD_TOO_LARGE",
                         "the request body is larger than " +
                             std::to_string(shared_.options.body_limit) + " bytes"});
    }
    if (ec == http::error::header_limit) {
      return send_error({431, "PAYLOAD_TOO_LARGE", "the request headers are too large"});
    }
    if (ec) return send_error({400, "INVALID_PARAMS", "malformed HTTP request: " + ec.message()});

    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    if (shared_.options.token) {
      auto auth = req[http::field::authorization];
      std::string_view given = auth;
      bool ok =
          given.starts_with("Bearer ") && tokens_equal(given.substr(7), *shared_.options.token);
      if (!ok)
        return send_error({401, "UNAUTHORIZED", "missing or wrong bearer token"}, keep_alive_);
    }
    Request request{std::string(req.method_string()), std::string(req.target()),
                    std::move(req.body()), std::string(req[http::field::accept]),
                    std::string(req["Last-Event-ID"])};
    Reply reply = shared_.router.handle(request);
    if (reply.stream) return start_stream(*reply.stream);
    send(reply.response, keep_alive_);
  }

  void send_error(const ApiError& error, bool keep_alive = false) {
    send(error_response(error), keep_alive);
  }

  void send(const Response& r, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "voidbox");
    res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(shared_.options.idle_timeout_secs));
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->read();
        });
  }

  // Server-sent events: the header, then every stored event and each new
  // one as the run records it, until the run is terminal. The body ends
  // with the connection.
  void start_stream(const EventStream& stream) {
    stream_info_ = stream;
    last_seq_ = stream.after_seq;
    std::weak_ptr<Session> weak = this->shared_from_this();
    subscription_ = shared_.runs.subscribe(stream.run_id, [weak] {
      if (auto self = weak.lock()) {
        asio::post(self->stream_.get_executor(), [self] { self->pump(); });
      }
    });
    pending_ =
        "HTTP/1.1 200 OK\r\nServer: voidbox\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
    arm_heartbeat();
    pump();
  }

  void arm_heartbeat() {
    heartbeat_.expires_after(kHeartbeat);
    heartbeat_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      self->pending_ += ": keep-alive\n\n";
      self->pump();
      self->arm_heartbeat();
    });
  }

  void pump() {
    if (writing_ || closed_) return;
    bool done = false;
    pending_ += shared_.router.stream_chunk(*stream_info_, last_seq_, done);
    if (pending_.empty()) {
      if (done) close();
      return;
    }
    writing_ = true;
    out_ = std::move(pending_);
    pending_.clear();
    stream_.expires_after(std::chrono::seconds(30));
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this(), done](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->close();
                        if (done && self->pending_.empty()) {
                          // One more look: events stored after the check.
                          bool again = false;
                          self->pending_ += self->shared_.router.stream_chunk(
                              *self->stream_info_, self->last_seq_, again);
                          if (self->pending_.empty()) return self->close();
                        }
                        self->pump();
                      });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    heartbeat_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(Protocol::socket::shutdown_send, ignored);
    stream_.close();
  }

  Stream stream_;
  Shared& shared_;
  asio::steady_timer heartbeat_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = false;
  std::optional<EventStream> stream_info_;
  std::int64_t last_seq_ = 0;
  std::uint64_t subscription_ = 0;
  std::string pending_;
  std::string out_;
  bool writing_ = false;
  bool closed_ = false;
};

template <class Protocol>
class Listener : public std::enable_shared_from_this<Listener<Protocol>> {
 public:
  Listener(asio::io_context& ioc, typename Protocol::acceptor acceptor, Shared& shared)
      : ioc_(ioc), acceptor_(std::move(acceptor)), shared_(shared) {}

  void accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_),
        [self = this->shared_from_this()](beast::error_code ec, typename Protocol::socket socket) {
          if (ec == asio::error::operation_aborted) return;
          if (!ec) {
            if (self->shared_.connections >= self->shared_.options.max_connections) {
              beast::error_code ignored;
              socket.close(ignored);
            } else {
              std::make_shared<Session<Protocol>>(std::move(socket), self->shared_)->start();
            }
          }
          self->accept();
        });
  }
  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  asio::io_context& ioc_;
  typename Protocol::acceptor acceptor_;
  Shared& shared_;
};

}  // namespace

struct HttpServer::Impl {
  asio::io_context ioc;
  std::unique_ptr<Shared> shared;
  Endpoint endpoint;
  std::shared_ptr<Listener<local>> unix_listener;
  std::shared_ptr<Listener<tcp>> tcp_listener;
  std::vector<std::thread> threads;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

std::expected<std::unique_ptr<HttpServer>, std::string> HttpServer::start(ServerOptions options,
                                                                          Router& router,
                                                                          RunManager& runs) {
  if (options.endpoint.tcp && (!options.token || options.token->empty())) {
    return std::unexpected(std::string("refusing to listen on TCP without a bearer token"));
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  auto impl = std::make_unique<Impl>();
  impl->endpoint = options.endpoint;
  impl->shared.reset(new Shared{options, router, runs, {}});
  beast::error_code ec;
  if (options.endpoint.tcp) {
    tcp::resolver resolver(impl->ioc);
    auto results = resolver.resolve(options.endpoint.host, options.endpoint.port, ec);
    if (ec || results.empty())
      return std::unexpected("cannot resolve " + options.endpoint.host + ": " + ec.message());
    tcp::acceptor acceptor(impl->ioc);
    const auto ep = results.begin()->endpoint();
    acceptor.open(ep.protocol(), ec);
    if (!ec) set_cloexec(acceptor.native_handle());
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return std::unexpected("cannot listen on " + options.endpoint.to_string() + ": " +
                             ec.message());
    impl->endpoint.port = std::to_string(acceptor.local_endpoint().port());
    impl->tcp_listener =
        std::make_shared<Listener<tcp>>(impl->ioc, std::move(acceptor), *impl->shared);
    impl->tcp_listener->accept();
  } else {
    const std::string& path = options.endpoint.path;
    {
      // A socket file that still answers belongs to a running daemon.
      local::socket probe(impl->ioc);
      probe.connect(local::endpoint(path), ec);
      if (!ec) return std::unexpected("another daemon is listening on " + path);
      ec.clear();
    }
    // Only a stale socket is replaced; any other file at the path is not ours.
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
      if (!S_ISSOCK(existing.st_mode)) {
        return std::unexpected(path + " exists and is not a socket; refusing to replace it");
      }
      ::unlink(path.c_str());
    }
    std::error_code fs_ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), fs_ec);
    local::acceptor acceptor(impl->ioc);
    acceptor.open(local(), ec);
    if (!ec) set_cloexec(acceptor.native_handle());
    // The socket is created 0600: no other user may connect, not even briefly.
    const mode_t old_mask = ::umask(0177);
    if (!ec) acceptor.bind(local::endpoint(path), ec);
    ::umask(old_mask);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return std::unexpected("cannot listen on " + path + ": " + ec.message());
    ::chmod(path.c_str(), 0600);
    impl->unix_listener =
        std::make_shared<Listener<local>>(impl->ioc, std::move(acceptor), *impl->shared);
    impl->unix_listener->accept();
  }
  impl->work.emplace(impl->ioc.get_executor());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.threads); ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  server->impl_ = std::move(impl);
  return server;
}

HttpServer::~HttpServer() {
  if (!impl_) return;
  asio::post(impl_->ioc, [impl = impl_.get()] {
    if (impl->unix_listener) impl->unix_listener->stop();
    if (impl->tcp_listener) impl->tcp_listener->stop();
  });
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  if (!impl_->endpoint.tcp) ::unlink(impl_->endpoint.path.c_str());
}

const Endpoint& HttpServer::endpoint() const {
  return impl_->endpoint;
}

}  // namespace voidbox::daemon
