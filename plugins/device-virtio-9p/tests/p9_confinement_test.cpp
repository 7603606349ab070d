// Every way a guest could try to reach outside the share fails: `..` at the
// root, names with slashes, absolute and relative symlinks (walked through,
// opened, created over), and a symlink swapped in on the host after the walk.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "p9_share_fixture.hpp"

namespace voidbox::p9::testing {
namespace {

constexpr std::uint32_t kRdonly = 0, kRdwr = 2, kCreat = 0100;

// Reads all of fid's file (opening it) or returns the Rlerror errno.
std::pair<std::uint32_t, std::string> read_all(Client& c, std::uint32_t fid) {
  Reply o = c.lopen(fid, kRdonly);
  if (o.is_error()) return {o.error(), ""};
  Reply r = c.read(fid, 0, 4096);
  if (r.is_error()) return {r.error(), ""};
  return {0, r.bytes(r.u32())};
}

TEST_F(ShareFixture, DotDotAtTheRootStaysAtTheRoot) {
  start(false);
  Reply w = client->walk(0, 1, {"..", "..", "outside", "secret"});
  ASSERT_EQ(w.type(), 111);
  EXPECT_EQ(w.u16(), 2) << "the walk must stop at 'outside', which the share does not have";
  EXPECT_EQ(client->getattr(1).error(), static_cast<std::uint32_t>(EBADF));
  // ".." from a subdirectory goes back to the root, and no further.
  ASSERT_EQ(client->walk(0, 2, {"dir", "..", "..", "hello.txt"}).type(), 111);
  EXPECT_EQ(read_all(*client, 2).second, "hello, 9p\n");
}

TEST_F(ShareFixture, NamesWithSlashesAreRefused) {
  start(false);
  const std::string up = "../outside/secret";
  EXPECT_TRUE(client->walk(0, 1, {up}).is_error());
  EXPECT_TRUE(client->walk(0, 1, {outside.string() + "/secret"}).is_error());
  EXPECT_TRUE(client->walk(0, 1, {"dir/inner.txt"}).is_error());
  ASSERT_EQ(client->walk(0, 2, {}).type(), 111);
  EXPECT_TRUE(client->lcreate(2, "../escape", kRdwr | kCreat, 0644).is_error());
  EXPECT_TRUE(client->mkdir(0, "../escape").is_error());
  EXPECT_TRUE(client->renameat(0, "hello.txt", 0, "../moved").is_error());
  EXPECT_FALSE(fs::exists(base / "escape"));
  EXPECT_FALSE(fs::exists(base / "moved"));
}

TEST_F(ShareFixture, AbsoluteSymlinkIsNeverFollowed) {
  fs::create_symlink(outside, share / "abs");
  fs::create_symlink(outside / "secret", share / "abs-file");
  start(false);
  // Walking through a symlink to a directory fails (ENOTDIR: the fid is the
  // link itself); the guest kernel would resolve the target in its own tree.
  EXPECT_TRUE(client->walk(0, 1, {"abs", "secret"}).is_error() ||
              client->walk(0, 1, {"abs", "secret"}).u16() < 2);
  ASSERT_EQ(client->walk(0, 2, {"abs-file"}).type(), 111);
  auto [err, data] = read_all(*client, 2);
  EXPECT_EQ(err, static_cast<std::uint32_t>(ELOOP));
  EXPECT_EQ(data, "");
  Attr a = parse_getattr(client->getattr(2));
  EXPECT_EQ(a.qid_type, kQidSymlink);
  // Creating over it does not write through it.
  ASSERT_EQ(client->walk(0, 3, {}).type(), 111);
  EXPECT_TRUE(client->lcreate(3, "abs-file", kRdwr | kCreat, 0644).is_error());
  EXPECT_EQ(slurp(outside / "secret"), "host secret");
  // Truncating or chmodding the link leaves its target alone.
  client->setattr_size(2, 0);
  client->setattr_mode(2, 0777);
  EXPECT_EQ(slurp(outside / "secret"), "host secret");
  struct stat st {};
  ASSERT_EQ(::stat((outside / "secret").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0777, 0777u);
}

TEST_F(ShareFixture, RelativeSymlinkOutIsNeverFollowed) {
  fs::create_symlink("../outside/secret", share / "rel");
  fs::create_symlink("../outside", share / "dir" / "reldir");
  start(false);
  ASSERT_EQ(client->walk(0, 1, {"rel"}).type(), 111);
  EXPECT_EQ(read_all(*client, 1).first, static_cast<std::uint32_t>(ELOOP));
  Reply w = client->walk(0, 2, {"dir", "reldir", "secret"});
  EXPECT_TRUE(w.is_error() || w.u16() < 3);
  EXPECT_EQ(client->getattr(2).error(), static_cast<std::uint32_t>(EBADF));
}

TEST_F(ShareFixture, SymlinkSwappedInAfterTheWalkIsNotFollowed) {
  start(false);
  ASSERT_EQ(client->walk(0, 1, {"dir", "inner.txt"}).type(), 111);
  ASSERT_EQ(client->walk(0, 2, {"dir"}).type(), 111);
  // The host (or a racing guest request) replaces the file and the
  // directory by symlinks that point out of the share.
  fs::remove(share / "dir" / "inner.txt");
  fs::create_symlink(outside / "secret", share / "dir" / "inner.txt");
  EXPECT_NE(read_all(*client, 1).first, 0u);
  fs::rename(share / "dir", base / "dir-was");
  fs::create_symlink(outside, share / "dir");
  // fid 2 still names the directory it walked to (now outside the share
  // only because the host moved it); a fresh walk through "dir" stops.
  Reply w = client->walk(0, 3, {"dir", "secret"});
  EXPECT_TRUE(w.is_error() || w.u16() < 2);
  ASSERT_EQ(client->walk(0, 4, {}).type(), 111);
  Reply c = client->lcreate(4, "dir", kRdwr | kCreat, 0644);
  EXPECT_TRUE(c.is_error());
  EXPECT_FALSE(fs::exists(outside / "inner.txt"));
  EXPECT_EQ(slurp(outside / "secret"), "host secret");
}

TEST_F(ShareFixture, GuestPlantedSymlinkToEtcLeadsNowhere) {
  start(false);
  ASSERT_EQ(client->symlink(0, "etc", "/etc").type(), 17);
  Reply w = client->walk(0, 1, {"etc", "passwd"});
  EXPECT_TRUE(w.is_error() || w.u16() < 2);
  ASSERT_EQ(client->walk(0, 2, {"etc"}).type(), 111);
  ASSERT_EQ(client->lopen(2, kRdonly).error(), static_cast<std::uint32_t>(ELOOP));
  Reply rd = client->readdir(2, 0, 4096);
  EXPECT_TRUE(rd.is_error());
}

}  // namespace
}  // namespace voidbox::p9::testing
