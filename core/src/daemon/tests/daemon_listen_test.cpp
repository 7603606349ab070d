// Where the daemon listens and who may talk to it: the Unix socket's mode
// and path order, TCP only with a bearer token, 401 for a wrong one, and
// keep-alive on one connection.
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "daemon/endpoint.hpp"
#include "test_daemon.hpp"

namespace voidbox::daemon {
namespace {

using testing::TestDaemon;

// Sets (or with nullopt unsets) a variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(DaemonListen, TheUnixSocketIsMode0600) {
  TestDaemon daemon;
  struct stat st {};
  ASSERT_EQ(::stat(daemon.server->endpoint().path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(DaemonListen, AnotherDaemonOrAFileAtTheSocketPathIsLeftAlone) {
  TestDaemon daemon;
  ServerOptions second;
  second.endpoint = daemon.server->endpoint();
  auto clash = HttpServer::start(second, *daemon.router, *daemon.runs);
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().find("another daemon"), std::string::npos) << clash.error();

  const auto file = daemon.dir / "not-a-socket";
  std::ofstream(file) << "keep me";
  ServerOptions on_file;
  on_file.endpoint.path = file.string();
  auto refused = HttpServer::start(on_file, *daemon.router, *daemon.runs);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(std::filesystem::is_regular_file(file));
}

TEST(DaemonListen, TheSocketPathFollowsTheOriginalsOrder) {
  const std::string uid = std::to_string(::getuid());
  {
    ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/77");
    ScopedEnv tmp("TMPDIR", "/var/tmp");
    EXPECT_EQ(default_socket_path(), "/run/user/77/voidbox.sock");
  }
  {
    ScopedEnv xdg("XDG_RUNTIME_DIR", std::nullopt);
    ScopedEnv tmp("TMPDIR", "/var/tmp");
    EXPECT_EQ(default_socket_path(), "/var/tmp/voidbox-" + uid + ".sock");
  }
  {
    ScopedEnv xdg("XDG_RUNTIME_DIR", std::nullopt);
    ScopedEnv tmp("TMPDIR", std::nullopt);
    EXPECT_EQ(default_socket_path(), "/tmp/voidbox-" + uid + ".sock");
  }
}

TEST(DaemonListen, EndpointsParseAndBadOnesAreRefused) {
  EXPECT_EQ(parse_endpoint("unix:///run/x.sock")->path, "/run/x.sock");
  EXPECT_EQ(parse_endpoint("/run/x.sock")->path, "/run/x.sock");
  auto tcp = parse_endpoint("tcp://127.0.0.1:8080");
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->tcp);
  EXPECT_EQ(tcp->host, "127.0.0.1");
  EXPECT_EQ(tcp->port, "8080");
  EXPECT_FALSE(parse_endpoint("tcp://127.0.0.1"));
  EXPECT_FALSE(parse_endpoint("tcp://host:port"));
  EXPECT_FALSE(parse_endpoint("relative.sock"));
}

TEST(DaemonListen, TcpWithoutATokenRefusesToStart) {
  ScopedEnv file("VOIDBOX_DAEMON_TOKEN_FILE", std::nullopt);
  ScopedEnv token("VOIDBOX_DAEMON_TOKEN", std::nullopt);
  auto t = server_token(std::nullopt, false);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("--token-file"), std::string::npos) << t.error();

  TestDaemon daemon;
  ServerOptions options;
  options.endpoint = *parse_endpoint("tcp://127.0.0.1:0");
  auto server = HttpServer::start(options, *daemon.router, *daemon.runs);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().find("token"), std::string::npos) << server.error();
}

TEST(DaemonListen, TokensComeFromTheFlagThenTheVariables) {
  TestDaemon daemon;
  const auto path = daemon.dir / "token";
  std::ofstream(path) << "from-the-file-0123456789\n";
  ScopedEnv file("VOIDBOX_DAEMON_TOKEN_FILE", std::nullopt);
  ScopedEnv token("VOIDBOX_DAEMON_TOKEN", "from-the-variable-0123");
  EXPECT_EQ(*server_token(path.string(), false), "from-the-file-0123456789");
  EXPECT_EQ(*server_token(std::nullopt, false), "from-the-variable-0123");
  ScopedEnv file2("VOIDBOX_DAEMON_TOKEN_FILE", path.string());
  EXPECT_EQ(*server_token(std::nullopt, false), "from-the-file-0123456789");
  std::ofstream(daemon.dir / "short") << "short\n";
  EXPECT_FALSE(server_token((daemon.dir / "short").string(), false));
}

TEST(DaemonListen, AGeneratedTokenIsWrittenMode0600) {
  TestDaemon daemon;
  ScopedEnv home("HOME", daemon.dir.string());
  ScopedEnv file("VOIDBOX_DAEMON_TOKEN_FILE", std::nullopt);
  ScopedEnv token("VOIDBOX_DAEMON_TOKEN", std::nullopt);
  auto t = server_token(std::nullopt, true);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(default_token_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*server_token(std::nullopt, true), *t);  // reused, not replaced
}

TEST(DaemonListen, TcpNeedsTheRightBearerToken) {
  TestDaemon daemon;
  ServerOptions options;
  options.endpoint = *parse_endpoint("tcp://127.0.0.1:0");
  options.token = "the-right-token-0123456789";
  auto server = HttpServer::start(options, *daemon.router, *daemon.runs);
  ASSERT_TRUE(server) << server.error();
  const Endpoint at = (*server)->endpoint();
  EXPECT_NE(at.port, "0");

  DaemonClient none(at, std::nullopt);
  auto r = none.request("GET", "/v1/health");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(testing::parse(r->body).at("code"), "UNAUTHORIZED");

  DaemonClient wrong(at, "the-wrong-token-0123456789");
  EXPECT_EQ(wrong.request("GET", "/v1/health")->status, 401);
  DaemonClient prefix(at, "the-right-token");
  EXPECT_EQ(prefix.request("GET", "/v1/runs")->status, 401);

  DaemonClient right(at, "the-right-token-0123456789");
  EXPECT_EQ(right.request("GET", "/v1/health")->status, 200);
  EXPECT_EQ(right.request("GET", "/v1/runs")->status, 200);
}

TEST(DaemonListen, OneConnectionServesManyRequests) {
  TestDaemon daemon;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", daemon.server->endpoint().path.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string one = "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string both =
      one + one + "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::write(fd, both.data(), both.size()), static_cast<ssize_t>(both.size()));
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::size_t count = 0;
  for (std::size_t at = 0; (at = got.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at)
    ++count;
  EXPECT_EQ(count, 3u) << got;
}

}  // namespace
}  // namespace voidbox::daemon
