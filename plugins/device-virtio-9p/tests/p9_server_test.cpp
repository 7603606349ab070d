// The 9P server against a temporary directory: the operations the Linux
// client uses, read-only shares, fid and size bounds, and concurrency.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "p9_share_fixture.hpp"

namespace voidbox::p9::testing {
namespace {

constexpr std::uint32_t kRdonly = 0, kWronly = 1, kRdwr = 2, kCreat = 0100, kTrunc = 01000;

TEST_F(ShareFixture, VersionNegotiatesAtMost512KiB) {
  start(false);
  Reply big = client->version(4u << 20);
  ASSERT_EQ(big.type(), 101);
  EXPECT_EQ(big.u32(), 512u * 1024);
  EXPECT_EQ(big.str(), "9P2000.L");
  Reply small = client->version(8192);
  EXPECT_EQ(small.u32(), 8192u);
  Reply other = client->version(8192, "9P2000");
  other.u32();
  EXPECT_EQ(other.str(), "unknown");
  EXPECT_EQ(client->version(100).error(), static_cast<std::uint32_t>(EINVAL));
}

TEST_F(ShareFixture, RequestsBeforeVersionAreRefused) {
  ServerConfig c;
  c.root = share.string();
  auto s = Server::open(c);
  ASSERT_TRUE(s);
  Client raw([&](const std::vector<std::byte>& m) {
    std::vector<std::byte> reply;
    (*s)->handle(m, limit, reply);
    return reply;
  });
  EXPECT_EQ(raw.attach(0).error(), static_cast<std::uint32_t>(EPROTO));
}

TEST_F(ShareFixture, WalkOpenReadGetattr) {
  start(true);
  Reply w = client->walk(0, 1, {"dir", "inner.txt"});
  ASSERT_EQ(w.type(), 111) << w.error();
  EXPECT_EQ(w.u16(), 2);
  EXPECT_EQ(w.u8(), kQidDir);
  Attr a = parse_getattr(client->getattr(1));
  EXPECT_EQ(a.size, 5u);
  EXPECT_TRUE(S_ISREG(a.mode));
  EXPECT_EQ(a.uid, 1000u);  // presented as the guest's command user
  EXPECT_EQ(a.gid, 1000u);
  ASSERT_EQ(client->lopen(1, kRdonly).type(), 13);
  Reply r = client->read(1, 1, 100);
  ASSERT_EQ(r.type(), 117) << r.error();
  EXPECT_EQ(r.bytes(r.u32()), "nner");
  // A walk that fails part-way returns the qids it got and makes no fid.
  Reply partial = client->walk(0, 2, {"dir", "missing"});
  ASSERT_EQ(partial.type(), 111);
  EXPECT_EQ(partial.u16(), 1);
  EXPECT_EQ(client->getattr(2).error(), static_cast<std::uint32_t>(EBADF));
  EXPECT_EQ(client->walk(0, 2, {"missing"}).error(), static_cast<std::uint32_t>(ENOENT));
}

TEST_F(ShareFixture, CreateWriteReadBackOnTheHost) {
  start(false);
  ASSERT_EQ(client->walk(0, 1, {}).type(), 111);
  Reply c = client->lcreate(1, "new.txt", kRdwr | kCreat, 0644);
  ASSERT_EQ(c.type(), 15) << c.error();
  Reply w = client->write(1, 0, "written by the guest");
  ASSERT_EQ(w.type(), 119) << w.error();
  EXPECT_EQ(w.u32(), 20u);
  EXPECT_EQ(client->fsync(1).type(), 51);
  EXPECT_EQ(slurp(share / "new.txt"), "written by the guest");
  struct stat st {};
  ASSERT_EQ(::stat((share / "new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());  // the host file belongs to whoever runs the server
  EXPECT_EQ(
      st.st_mode & 07777, 0644u & ~[] {
        mode_t m = ::umask(0);
        ::umask(m);
        return m;
      }());
  EXPECT_EQ(client->setattr_size(1, 7).type(), 27);
  EXPECT_EQ(slurp(share / "new.txt"), "written");
  EXPECT_EQ(client->setattr_mode(1, 04755).type(), 27);
  ASSERT_EQ(::stat((share / "new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);  // no set-user-ID bit on a host file
}

TEST_F(ShareFixture, MkdirSymlinkRenameUnlink) {
  start(false);
  Reply m = client->mkdir(0, "made");
  ASSERT_EQ(m.type(), 73) << m.error();
  EXPECT_TRUE(fs::is_directory(share / "made"));
  ASSERT_EQ(client->symlink(0, "link", "/etc/passwd").type(), 17);
  EXPECT_EQ(fs::read_symlink(share / "link"), "/etc/passwd");
  ASSERT_EQ(client->walk(0, 1, {"link"}).type(), 111);
  Reply rl = client->readlink(1);
  ASSERT_EQ(rl.type(), 23);
  EXPECT_EQ(rl.str(), "/etc/passwd");
  ASSERT_EQ(client->renameat(0, "hello.txt", 0, "renamed.txt").type(), 75);
  EXPECT_EQ(slurp(share / "renamed.txt"), "hello, 9p\n");
  ASSERT_EQ(client->walk(0, 2, {"renamed.txt"}).type(), 111);
  ASSERT_EQ(client->walk(0, 3, {"made"}).type(), 111);
  ASSERT_EQ(client->rename(2, 3, "moved.txt").type(), 21);
  EXPECT_TRUE(fs::exists(share / "made" / "moved.txt"));
  ASSERT_EQ(client->link(3, 2, "hard.txt").type(), 71);
  EXPECT_EQ(fs::hard_link_count(share / "made" / "hard.txt"), 2u);
  ASSERT_EQ(client->unlinkat(3, "hard.txt").type(), 77);
  ASSERT_EQ(client->remove(2).type(), 123);
  EXPECT_FALSE(fs::exists(share / "made" / "moved.txt"));
  ASSERT_EQ(client->unlinkat(0, "made", 0x200).type(), 77);
  EXPECT_FALSE(fs::exists(share / "made"));
  Reply sf = client->statfs(0);
  ASSERT_EQ(sf.type(), 9);
  sf.u32();
  EXPECT_GT(sf.u32(), 0u);  // block size
}

TEST_F(ShareFixture, ReaddirListsEveryEntryAcrossSmallReplies) {
  for (int i = 0; i < 40; ++i) spit(share / ("f" + std::to_string(i)), "x");
  start(true);
  ASSERT_EQ(client->walk(0, 1, {}).type(), 111);
  ASSERT_EQ(client->lopen(1, kRdonly).type(), 13);
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (int round = 0; round < 200; ++round) {
    Reply r = client->readdir(1, offset, 128);
    ASSERT_EQ(r.type(), 41) << r.error();
    const std::uint32_t count = r.u32();
    ASSERT_LE(count, 128u);
    if (count == 0) break;
    while (r.left() > 0) {
      r.skip(13);
      offset = r.u64();
      r.u8();
      names.insert(r.str());
    }
  }
  EXPECT_EQ(names.size(), 40u + 4u);  // f0..f39, hello.txt, dir, ".", ".."
  EXPECT_TRUE(names.contains("hello.txt"));
  EXPECT_TRUE(names.contains("f39"));
}

TEST_F(ShareFixture, ReadOnlyShareRefusesEveryMutation) {
  start(true);
  const auto erofs = static_cast<std::uint32_t>(EROFS);
  ASSERT_EQ(client->walk(0, 1, {"hello.txt"}).type(), 111);
  EXPECT_EQ(client->lopen(1, kWronly).error(), erofs);
  EXPECT_EQ(client->lopen(1, kRdwr).error(), erofs);
  EXPECT_EQ(client->lopen(1, kRdonly | kTrunc).error(), erofs);
  EXPECT_EQ(client->setattr_size(1, 0).error(), erofs);
  EXPECT_EQ(client->setattr_mode(1, 0777).error(), erofs);
  EXPECT_EQ(client->xattrcreate(1, "user.x").error(), erofs);
  ASSERT_EQ(client->walk(0, 2, {}).type(), 111);
  EXPECT_EQ(client->lcreate(2, "new", kRdwr | kCreat, 0644).error(), erofs);
  EXPECT_EQ(client->mkdir(0, "d").error(), erofs);
  EXPECT_EQ(client->symlink(0, "s", "x").error(), erofs);
  EXPECT_EQ(client->mknod(0, "n").error(), erofs);
  EXPECT_EQ(client->link(0, 1, "l").error(), erofs);
  EXPECT_EQ(client->rename(1, 0, "r").error(), erofs);
  EXPECT_EQ(client->renameat(0, "hello.txt", 0, "r").error(), erofs);
  EXPECT_EQ(client->unlinkat(0, "hello.txt").error(), erofs);
  EXPECT_EQ(client->unlinkat(0, "dir", 0x200).error(), erofs);
  ASSERT_EQ(client->lopen(1, kRdonly).type(), 13);
  EXPECT_EQ(client->write(1, 0, "x").error(), erofs);
  EXPECT_EQ(client->remove(1).error(), erofs);
  EXPECT_EQ(slurp(share / "hello.txt"), "hello, 9p\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(share), {}), 2);
}

TEST_F(ShareFixture, MknodAndXattrsAreRefused) {
  start(false);
  EXPECT_EQ(client->mknod(0, "dev").error(), static_cast<std::uint32_t>(EPERM));
  EXPECT_EQ(client->xattrwalk(0, 1, "security.capability").error(),
            static_cast<std::uint32_t>(EOPNOTSUPP));
  EXPECT_FALSE(fs::exists(share / "dev"));
}

TEST_F(ShareFixture, FidTableIsBounded) {
  start(true, 8);
  for (std::uint32_t fid = 1; fid < 8; ++fid) ASSERT_EQ(client->walk(0, fid, {}).type(), 111);
  EXPECT_EQ(client->walk(0, 100, {}).error(), static_cast<std::uint32_t>(EMFILE));
  EXPECT_EQ(server->fid_count(), 8u);
  EXPECT_EQ(client->walk(0, 1, {}).error(), static_cast<std::uint32_t>(EBADF));  // taken
  ASSERT_EQ(client->clunk(7).type(), 121);
  EXPECT_EQ(client->walk(0, 100, {}).type(), 111);
  client->version();  // a new session forgets every fid
  EXPECT_EQ(server->fid_count(), 0u);
}

TEST_F(ShareFixture, RepliesNeverExceedMsizeOrTheTransportLimit) {
  std::string big(300 * 1024, 'z');
  spit(share / "big", big);
  start(true);
  ASSERT_EQ(client->version(16384).type(), 101);
  ASSERT_EQ(client->attach(0).type(), 105);
  ASSERT_EQ(client->walk(0, 1, {"big"}).type(), 111);
  ASSERT_EQ(client->lopen(1, kRdonly).type(), 13);
  Reply r = client->read(1, 0, 1u << 30);
  ASSERT_EQ(r.type(), 117);
  EXPECT_LE(r.size(), 16384u);
  EXPECT_EQ(r.u32(), 16384u - 11);
  limit = 100;
  Reply small = client->read(1, 0, 1000);
  EXPECT_EQ(small.size(), 100u);
  limit = 5;  // not even an error fits: nothing comes back
  std::vector<std::byte> reply;
  server->handle(Msg(116, 9).u32(1).u64(0).u32(10).done(), limit, reply);
  EXPECT_TRUE(reply.empty());
}

TEST_F(ShareFixture, MalformedMessagesGetErrorsNotCrashes) {
  start(false);
  std::vector<std::byte> reply;
  auto bad = Msg(110, 3).u32(0).u32(1).u16(2).str("dir").done();  // says 2 names, has 1
  server->handle(bad, limit, reply);
  Reply r(reply);
  EXPECT_EQ(r.tag(), 3);
  EXPECT_EQ(r.error(), static_cast<std::uint32_t>(EPROTO));
  auto unknown = Msg(99, 4).done();
  server->handle(unknown, limit, reply);
  EXPECT_EQ(Reply(reply).error(), static_cast<std::uint32_t>(EOPNOTSUPP));
  EXPECT_EQ(client->read(0, 0, 10).error(), static_cast<std::uint32_t>(EBADF));  // not open
  EXPECT_EQ(client->getattr(12345).error(), static_cast<std::uint32_t>(EBADF));
}

TEST_F(ShareFixture, BlockedReadDoesNotStallGetattr) {
  ASSERT_EQ(::mkfifo((share / "fifo").c_str(), 0644), 0);
  // Holding the FIFO open for writing lets the server's open succeed, while
  // its read waits for bytes that only come at the end of the test.
  const int writer = ::open((share / "fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(writer, 0);
  start(true);
  ASSERT_EQ(client->walk(0, 1, {"fifo"}).type(), 111);
  ASSERT_EQ(client->lopen(1, kRdonly).type(), 13);
  auto blocked = std::async(std::launch::async, [&] {
    std::vector<std::byte> reply;
    server->handle(Msg(116, 50).u32(1).u64(0).u32(64).done(), limit, reply);
    return Reply(reply);
  });
  // The read is blocked in the host's read(2) (it has nothing to return);
  // a getattr on another fid completes meanwhile.
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  Reply a = client->getattr(0);
  EXPECT_EQ(a.type(), 25);
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the read should still be waiting for data";
  ASSERT_EQ(::write(writer, "late", 4), 4);
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Reply r = blocked.get();
  ASSERT_EQ(r.type(), 117) << "errno " << r.error();
  EXPECT_EQ(r.bytes(r.u32()), "late");
  ::close(writer);
}

}  // namespace
}  // namespace voidbox::p9::testing
