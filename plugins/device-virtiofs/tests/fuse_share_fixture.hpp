// A temporary host directory shared through a Server, and a test client
// talking to that server directly.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "fuse_server.hpp"
#include "fuse_test_client.hpp"

namespace voidbox::virtiofs::testing {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::string out;
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

inline void spit(const fs::path& p, std::string_view s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

class FuseShareFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/virtiofs-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base = tmpl;
    share = base / "share";
    outside = base / "outside";
    fs::create_directories(share / "dir");
    fs::create_directories(outside);
    spit(share / "hello.txt", "hello, virtiofs\n");
    spit(share / "dir" / "inner.txt", "inner");
    spit(outside / "secret", "host secret");
  }
  void TearDown() override {
    server.reset();
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  Client& start(bool readonly, std::size_t max_inodes = 16384, std::size_t max_handles = 4096) {
    ServerConfig c;
    c.root = share.string();
    c.readonly = readonly;
    c.max_inodes = max_inodes;
    c.max_handles = max_handles;
    auto s = Server::open(c);
    EXPECT_TRUE(s) << (s ? "" : s.error());
    server = std::move(*s);
    client = std::make_unique<Client>([this](const std::vector<std::byte>& m) {
      std::vector<std::byte> reply;
      server->handle(m, limit, reply);
      return reply;
    });
    Reply r = client->init();
    EXPECT_EQ(r.error(), 0);
    return *client;
  }

  fs::path base, share, outside;
  std::unique_ptr<Server> server;
  std::unique_ptr<Client> client;
  std::size_t limit = (1 << 20) + 4096;
};

}  // namespace voidbox::virtiofs::testing
