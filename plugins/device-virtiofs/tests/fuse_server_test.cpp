// The FUSE server against a scratch share: the session, every served
// opcode, read-only refusals, ownership and the table bounds.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "fuse_share_fixture.hpp"

namespace voidbox::virtiofs::testing {
namespace {

TEST_F(FuseShareFixture, InitNegotiatesAndBoundsMaxWrite) {
  Client& c = start(true);
  Reply r = c.init();
  ASSERT_EQ(r.error(), 0);
  const auto out = r.as<fuse_init_out>();
  EXPECT_EQ(out.major, 7u);
  EXPECT_EQ(out.minor, std::min<std::uint32_t>(FUSE_KERNEL_MINOR_VERSION, 38));
  EXPECT_EQ(out.max_write, kMaxIo);
  EXPECT_TRUE(out.flags & FUSE_DO_READDIRPLUS);
  EXPECT_FALSE(out.flags & FUSE_WRITEBACK_CACHE);  // never offered by this guest, never set
  EXPECT_EQ(c.init(20).error(), EPROTO);
}

TEST_F(FuseShareFixture, RequestsBeforeInitAreRefused) {
  ServerConfig cfg;
  cfg.root = share.string();
  auto s = Server::open(cfg);
  ASSERT_TRUE(s);
  Client c([&](const std::vector<std::byte>& m) {
    std::vector<std::byte> out;
    (*s)->handle(m, 4096, out);
    return out;
  });
  EXPECT_EQ(c.lookup(1, "hello.txt").error(), EIO);
}

TEST_F(FuseShareFixture, LookupReportsTheGuestOwner) {
  Client& c = start(true);
  Reply r = c.lookup(1, "hello.txt");
  ASSERT_EQ(r.error(), 0);
  const auto e = r.as<fuse_entry_out>();
  EXPECT_GT(e.nodeid, 1u);
  EXPECT_EQ(e.attr.uid, 1000u);
  EXPECT_EQ(e.attr.gid, 1000u);
  EXPECT_EQ(e.attr.size, 16u);
  EXPECT_TRUE(S_ISREG(e.attr.mode));
  // The same file keeps its nodeid.
  EXPECT_EQ(c.node(1, "hello.txt"), e.nodeid);
  EXPECT_EQ(c.lookup(1, "missing").error(), ENOENT);
  EXPECT_EQ(c.getattr(e.nodeid).as<fuse_attr_out>().attr.size, 16u);
}

TEST_F(FuseShareFixture, ReadsAFileAndADirectory) {
  Client& c = start(true);
  const auto n = c.node(1, "hello.txt");
  const auto fh = c.fh(n, O_RDONLY);
  ASSERT_NE(fh, 0u);
  EXPECT_EQ(c.read(n, fh, 7, 100).text(), "virtiofs\n");
  EXPECT_EQ(c.release(n, fh).error(), 0);
  EXPECT_EQ(c.read(n, fh, 0, 100).error(), EBADF);  // released
  const auto dfh = c.fh(1, O_RDONLY, true);
  ASSERT_NE(dfh, 0u);
  auto names = dirent_names(c.read(1, dfh, 0, 4096, FUSE_READDIR), false);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "dir", "hello.txt"}));
  auto plus = dirent_names(c.read(1, dfh, 0, 4096, FUSE_READDIRPLUS), true);
  std::sort(plus.begin(), plus.end());
  EXPECT_EQ(plus, names);
}

TEST_F(FuseShareFixture, ReaddirContinuesFromItsOffset) {
  for (int i = 0; i < 50; ++i) spit(share / ("f" + std::to_string(i)), "x");
  Client& c = start(true);
  const auto dfh = c.fh(1, O_RDONLY, true);
  std::vector<std::string> all;
  std::uint64_t off = 0;
  for (int round = 0; round < 100; ++round) {
    Reply r = c.read(1, dfh, off, 256, FUSE_READDIR);
    ASSERT_EQ(r.error(), 0);
    ASSERT_LE(r.payload_size(), 256u);
    auto names = dirent_names(r, false);
    if (names.empty()) break;
    all.insert(all.end(), names.begin(), names.end());
    // The last entry's offset is where the next read starts.
    std::size_t at = 0, last = 0;
    while (at < r.payload_size()) {
      last = at;
      const auto d = r.as<fuse_dirent>(at);
      at += (FUSE_NAME_OFFSET + d.namelen + 7) & ~std::size_t{7};
    }
    off = r.as<fuse_dirent>(last).off;
  }
  EXPECT_EQ(all.size(), 54u);  // 50 files, dir, hello.txt, . and ..
}

TEST_F(FuseShareFixture, WritableShareCreatesWritesAndRemoves) {
  Client& c = start(false);
  Reply cr = c.create(1, "new.txt", O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(cr.error(), 0);
  const auto e = cr.as<fuse_entry_out>();
  const auto o = cr.as<fuse_open_out>(sizeof(fuse_entry_out));
  Reply w = c.write(e.nodeid, o.fh, 0, "written by the guest");
  ASSERT_EQ(w.error(), 0);
  EXPECT_EQ(w.as<fuse_write_out>().size, 20u);
  EXPECT_EQ(slurp(share / "new.txt"), "written by the guest");
  struct stat st {};
  ASSERT_EQ(::stat((share / "new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());  // owned by whoever runs the VMM
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  fuse_fsync_in fs{};
  fs.fh = o.fh;
  EXPECT_EQ(c.call(FUSE_FSYNC, e.nodeid, fs).error(), 0);
  fuse_flush_in fl{};
  fl.fh = o.fh;
  EXPECT_EQ(c.call(FUSE_FLUSH, e.nodeid, fl).error(), 0);

  fuse_setattr_in sa{};
  sa.valid = FATTR_SIZE | FATTR_MODE | FATTR_UID;
  sa.size = 7;
  sa.mode = 04600;  // set-user-ID is dropped
  sa.uid = 0;       // accepted, changes nothing
  Reply s = c.call(FUSE_SETATTR, e.nodeid, sa);
  ASSERT_EQ(s.error(), 0);
  EXPECT_EQ(s.as<fuse_attr_out>().attr.size, 7u);
  ASSERT_EQ(::stat((share / "new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());

  Reply md = c.mkdir(1, "made");
  ASSERT_EQ(md.error(), 0);
  EXPECT_TRUE(fs::is_directory(share / "made"));
  EXPECT_EQ(c.rename(1, "new.txt", md.as<fuse_entry_out>().nodeid, "moved.txt").error(), 0);
  EXPECT_EQ(slurp(share / "made" / "moved.txt"), "written");
  EXPECT_EQ(c.rename(1, "hello.txt", 1, "dir", 0x4 /* RENAME_WHITEOUT */).error(), EINVAL);
  Reply sl = c.call(FUSE_SYMLINK, 1, {"link", "/etc/passwd"});
  ASSERT_EQ(sl.error(), 0);
  EXPECT_EQ(fs::read_symlink(share / "link"), "/etc/passwd");
  EXPECT_EQ(c.call(FUSE_READLINK, sl.as<fuse_entry_out>().nodeid).text(), "/etc/passwd");
  EXPECT_EQ(c.call(FUSE_UNLINK, md.as<fuse_entry_out>().nodeid, {"moved.txt"}).error(), 0);
  EXPECT_EQ(c.call(FUSE_RMDIR, 1, {"made"}).error(), 0);
  EXPECT_FALSE(fs::exists(share / "made"));
  EXPECT_EQ(c.call(FUSE_STATFS, 1).error(), 0);
  EXPECT_GT(c.call(FUSE_STATFS, 1).as<fuse_statfs_out>().st.bsize, 0u);
}

TEST_F(FuseShareFixture, ReadOnlyShareRefusesEveryChangeWithErofs) {
  Client& c = start(true);
  const auto n = c.node(1, "hello.txt");
  EXPECT_EQ(c.create(1, "new.txt", O_WRONLY | O_CREAT, 0644).error(), EROFS);
  EXPECT_EQ(c.open(n, O_WRONLY).error(), EROFS);
  EXPECT_EQ(c.open(n, O_RDONLY | O_TRUNC).error(), EROFS);
  EXPECT_EQ(c.mkdir(1, "made").error(), EROFS);
  EXPECT_EQ(c.call(FUSE_UNLINK, 1, {"hello.txt"}).error(), EROFS);
  EXPECT_EQ(c.call(FUSE_RMDIR, 1, {"dir"}).error(), EROFS);
  EXPECT_EQ(c.rename(1, "hello.txt", 1, "moved").error(), EROFS);
  EXPECT_EQ(c.call(FUSE_SYMLINK, 1, {"l", "/etc"}).error(), EROFS);
  fuse_setattr_in sa{};
  sa.valid = FATTR_SIZE;
  EXPECT_EQ(c.call(FUSE_SETATTR, n, sa).error(), EROFS);
  // A write on a handle opened for reading is refused before it is tried.
  const auto fh = c.fh(n, O_RDONLY);
  EXPECT_EQ(c.write(n, fh, 0, "x").error(), EROFS);
  fuse_access_in ac{};
  ac.mask = W_OK;
  EXPECT_EQ(c.call(FUSE_ACCESS, n, ac).error(), EROFS);
  ac.mask = R_OK;
  EXPECT_EQ(c.call(FUSE_ACCESS, n, ac).error(), 0);
  EXPECT_EQ(slurp(share / "hello.txt"), "hello, virtiofs\n");
  EXPECT_FALSE(fs::exists(share / "new.txt"));
  EXPECT_FALSE(fs::exists(share / "made"));
}

TEST_F(FuseShareFixture, UnknownNodeidsAndHandlesAreRefused) {
  Client& c = start(false);
  EXPECT_EQ(c.getattr(999).error(), ENOENT);
  EXPECT_EQ(c.lookup(999, "x").error(), ENOENT);
  EXPECT_EQ(c.read(1, 12345, 0, 10).error(), EBADF);
  EXPECT_EQ(c.write(1, 12345, 0, "x").error(), EBADF);
  EXPECT_EQ(c.release(1, 12345).error(), EBADF);
  // A directory handle is not a file handle, and the other way round.
  const auto dfh = c.fh(1, O_RDONLY, true);
  EXPECT_EQ(c.read(1, dfh, 0, 10).error(), EBADF);
  const auto n = c.node(1, "hello.txt");
  const auto fh = c.fh(n, O_RDONLY);
  EXPECT_EQ(c.read(1, fh, 0, 100, FUSE_READDIR).error(), EBADF);
  EXPECT_EQ(c.open(n, O_RDONLY, true).error(), ENOTDIR);
}

TEST_F(FuseShareFixture, UnservedOpcodesGetEnosysAndForgetsGetNoReply) {
  Client& c = start(false);
  EXPECT_EQ(c.call(FUSE_GETXATTR, 1).error(), ENOSYS);
  EXPECT_EQ(c.call(FUSE_LSEEK, 1).error(), ENOSYS);
  EXPECT_EQ(c.call(9999, 1).error(), ENOSYS);
  EXPECT_EQ(c.call(FUSE_MKNOD, 1).error(), EPERM);
  const auto n = c.node(1, "hello.txt");
  ASSERT_NE(n, 0u);
  EXPECT_EQ(c.node(1, "hello.txt"), n);  // two lookups counted
  fuse_forget_in f{1};
  EXPECT_TRUE(c.call(FUSE_FORGET, n, f).empty());
  EXPECT_EQ(c.getattr(n).error(), 0);  // one lookup still outstanding
  fuse_batch_forget_in b{1, 0};
  fuse_forget_one one{n, 1};
  EXPECT_TRUE(c.call(FUSE_BATCH_FORGET, 0, b, {},
                     std::string_view(reinterpret_cast<const char*>(&one), sizeof one))
                  .empty());
  EXPECT_EQ(c.getattr(n).error(), ENOENT);
  // Forgetting the root changes nothing.
  fuse_forget_in root{100};
  c.call(FUSE_FORGET, 1, root);
  EXPECT_EQ(c.getattr(1).error(), 0);
}

TEST_F(FuseShareFixture, TablesAreBounded) {
  for (int i = 0; i < 10; ++i) spit(share / ("f" + std::to_string(i)), "x");
  Client& c = start(true, 4, 2);
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    if (c.lookup(1, "f" + std::to_string(i)).error() == ENFILE) ++refused;
  }
  EXPECT_EQ(server->inode_count(), 4u);
  EXPECT_EQ(refused, 7);
  EXPECT_NE(c.fh(1, O_RDONLY, true), 0u);
  EXPECT_NE(c.fh(1, O_RDONLY, true), 0u);
  EXPECT_EQ(c.open(1, O_RDONLY, true).error(), EMFILE);
}

TEST_F(FuseShareFixture, ReadRepliesFitTheReplyBuffer) {
  spit(share / "big", std::string(100000, 'z'));
  Client& c = start(true);
  limit = 16 + 1000;
  const auto n = c.node(1, "big");
  const auto fh = c.fh(n, O_RDONLY);
  Reply r = c.read(n, fh, 0, 1 << 20);
  ASSERT_EQ(r.error(), 0);
  EXPECT_EQ(r.payload_size(), 1000u);
}

}  // namespace
}  // namespace voidbox::virtiofs::testing
