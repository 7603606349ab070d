// Nothing the guest names leaves the share: `..` and `/` in names, host
// symlinks (absolute and relative) planted in the share, and a file or
// directory swapped for a symlink after the guest looked it up.
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_share_fixture.hpp"

namespace voidbox::virtiofs::testing {
namespace {

TEST_F(FuseShareFixture, DotDotAndSlashNamesAreRefused) {
  Client& c = start(false);
  EXPECT_EQ(c.lookup(1, "..").error(), EINVAL);
  EXPECT_EQ(c.lookup(1, ".").error(), EINVAL);
  EXPECT_EQ(c.lookup(1, "../outside").error(), ENOENT);
  EXPECT_EQ(c.lookup(1, "dir/../../outside").error(), ENOENT);
  EXPECT_EQ(c.lookup(1, (outside / "secret").string()).error(), ENOENT);
  EXPECT_EQ(c.create(1, "../outside/new", O_WRONLY | O_CREAT, 0644).error(), EINVAL);
  EXPECT_EQ(c.mkdir(1, "..").error(), EINVAL);
  EXPECT_EQ(c.rename(1, "hello.txt", 1, "../outside/stolen").error(), EINVAL);
  EXPECT_EQ(c.call(FUSE_SYMLINK, 1, {"../x", "/etc"}).error(), EINVAL);
  EXPECT_FALSE(fs::exists(outside / "new"));
  EXPECT_FALSE(fs::exists(outside / "stolen"));
}

TEST_F(FuseShareFixture, PlantedSymlinksAreNeverFollowed) {
  fs::create_symlink(outside, share / "abs");
  fs::create_symlink("../outside", share / "rel");
  fs::create_symlink(outside / "secret", share / "file-link");
  Client& c = start(false);
  for (const char* name : {"abs", "rel", "file-link"}) {
    Reply r = c.lookup(1, name);
    ASSERT_EQ(r.error(), 0) << name;
    const auto e = r.as<fuse_entry_out>();
    EXPECT_TRUE(S_ISLNK(e.attr.mode)) << name << " is reported as its target";
    // Beneath a link, nothing: it is not a directory here.
    EXPECT_EQ(c.lookup(e.nodeid, "secret").error(), ENOTDIR) << name;
    EXPECT_EQ(c.create(e.nodeid, "planted", O_WRONLY | O_CREAT, 0644).error(), ENOTDIR) << name;
    EXPECT_EQ(c.open(e.nodeid, O_RDONLY).error(), ELOOP) << name;
    EXPECT_EQ(c.open(e.nodeid, O_RDONLY, true).error(), ELOOP) << name;
  }
  // Creating over a link does not write through it.
  EXPECT_EQ(c.create(1, "file-link", O_WRONLY | O_CREAT | O_TRUNC, 0644).error(), ELOOP);
  EXPECT_EQ(slurp(outside / "secret"), "host secret");
  EXPECT_FALSE(fs::exists(outside / "planted"));
}

TEST_F(FuseShareFixture, AFileSwappedForASymlinkAfterLookupIsNotFollowed) {
  Client& c = start(false);
  const auto n = c.node(1, "hello.txt");
  ASSERT_NE(n, 0u);
  fs::rename(share / "hello.txt", base / "moved-away");
  fs::create_symlink(outside / "secret", share / "hello.txt");
  // The nodeid is the inode looked up, wherever it is now.
  const auto fh = c.fh(n, O_RDWR);
  ASSERT_NE(fh, 0u);
  EXPECT_EQ(c.read(n, fh, 0, 100).text(), "hello, virtiofs\n");
  ASSERT_EQ(c.write(n, fh, 0, "HELLO").error(), 0);
  fuse_setattr_in sa{};
  sa.valid = FATTR_SIZE;
  sa.size = 2;
  ASSERT_EQ(c.call(FUSE_SETATTR, n, sa).error(), 0);
  EXPECT_EQ(slurp(outside / "secret"), "host secret");
  EXPECT_EQ(slurp(base / "moved-away"), "HE");
  // A fresh lookup sees the link itself.
  EXPECT_TRUE(S_ISLNK(c.lookup(1, "hello.txt").as<fuse_entry_out>().attr.mode));
}

TEST_F(FuseShareFixture, ADirectorySwappedForASymlinkAfterLookupStaysInside) {
  Client& c = start(false);
  const auto d = c.node(1, "dir");
  ASSERT_NE(d, 0u);
  fs::rename(share / "dir", share / "dir-old");
  fs::create_symlink(outside, share / "dir");
  // The old nodeid is still the real directory, not the link's target.
  EXPECT_EQ(c.lookup(d, "secret").error(), ENOENT);
  EXPECT_NE(c.node(d, "inner.txt"), 0u);
  ASSERT_EQ(c.create(d, "made-here", O_WRONLY | O_CREAT, 0644).error(), 0);
  EXPECT_TRUE(fs::exists(share / "dir-old" / "made-here"));
  EXPECT_FALSE(fs::exists(outside / "made-here"));
  // And the new name is a link the server does not go through.
  const auto link = c.node(1, "dir");
  EXPECT_EQ(c.lookup(link, "secret").error(), ENOTDIR);
  EXPECT_EQ(c.call(FUSE_UNLINK, link, {"secret"}).error(), ENOTDIR);
  EXPECT_TRUE(fs::exists(outside / "secret"));
}

TEST_F(FuseShareFixture, HostDevicesAndSocketsAreNotOpened) {
  // A FIFO opens (a guest may use one), a device node the guest reaches
  // through a share would be the host's.
  ASSERT_EQ(::mkfifo((share / "fifo").c_str(), 0644), 0);
  Client& c = start(false);
  if (fs::exists("/dev/null")) {
    fs::create_symlink("/dev/null", share / "null-link");
    EXPECT_EQ(c.open(c.node(1, "null-link"), O_RDONLY).error(), ELOOP);
  }
  EXPECT_EQ(c.call(FUSE_MKNOD, 1, {"dev"}).error(), EPERM);
  EXPECT_NE(c.fh(c.node(1, "fifo"), O_RDONLY | O_NONBLOCK), 0u);
}

}  // namespace
}  // namespace voidbox::virtiofs::testing
