// Session, dispatch, lookups and attributes; the file operations are in
// fuse_file_ops.cpp and fuse_tree_ops.cpp.
#include "fuse_server.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace voidbox::virtiofs {

namespace {

constexpr std::uint32_t kMinMinor = 27;  // Linux 4.20 and later
constexpr std::uint32_t kOurMinor = 38;
// How long the guest may cache names and attributes: short, since the
// host may change the tree under it.
constexpr std::uint64_t kValidSecs = 1;

bool mutates(std::uint32_t opcode) {
  switch (opcode) {
    case FUSE_SETATTR:
    case FUSE_SYMLINK:
    case FUSE_MKNOD:
    case FUSE_MKDIR:
    case FUSE_UNLINK:
    case FUSE_RMDIR:
    case FUSE_RENAME:
    case FUSE_RENAME2:
    case FUSE_LINK:
    case FUSE_WRITE:
    case FUSE_CREATE:
    case FUSE_SETXATTR:
    case FUSE_REMOVEXATTR:
    case FUSE_FALLOCATE:
    case FUSE_COPY_FILE_RANGE:
      return true;
    default:
      return false;
  }
}

// Each inode holds a descriptor: let the tables fill before open() fails.
void raise_fd_limit(std::size_t want) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) return;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, want);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

std::expected<std::unique_ptr<Server>, std::string> Server::open(ServerConfig config) {
  if (config.root.empty() || config.root.front() != '/') {
    return std::unexpected("virtiofs share root must be an absolute path, got '" + config.root +
                           "'");
  }
  const int fd = ::open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected("cannot open virtiofs share root " + config.root + ": " +
                           std::strerror(errno));
  }
  config.max_inodes = std::max<std::size_t>(config.max_inodes, 2);
  config.max_handles = std::max<std::size_t>(config.max_handles, 1);
  raise_fd_limit(config.max_inodes + config.max_handles + 1024);
  return std::unique_ptr<Server>(new Server(std::move(config), UniqueFd(fd)));
}

Server::Server(ServerConfig config, UniqueFd root)
    : cfg_(std::move(config)),
      inodes_(std::move(root), cfg_.max_inodes),
      handles_(cfg_.max_handles) {}

bool Server::initialised() const {
  std::lock_guard lock(mu_);
  return minor_ != 0;
}

void Server::handle(std::span<const std::byte> request, std::size_t reply_limit,
                    std::vector<std::byte>& reply) {
  reply.clear();
  auto parsed = parse_request(request);
  if (!parsed) {
    // A header we can read gets an answer; anything shorter cannot be told
    // which request it was.
    if (request.size() < kInHeaderSize || reply_limit < kOutHeaderSize) return;
    fuse_in_header h{};
    std::memcpy(&h, request.data(), sizeof h);
    if (h.opcode == FUSE_FORGET || h.opcode == FUSE_BATCH_FORGET) return;
    ReplyBuilder b(reply, reply_limit, h.unique);
    b.finish(EINVAL);
    return;
  }
  const std::uint32_t op = parsed->header.opcode;
  if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) {
    forget(*parsed);
    return;
  }
  if (reply_limit < kOutHeaderSize) return;
  ReplyBuilder b(reply, reply_limit, parsed->header.unique);
  int err = serve(*parsed, b);
  if (err == 0 && !b.ok()) err = ERANGE;
  b.finish(err);
}

int Server::serve(const Request& r, ReplyBuilder& b) {
  const std::uint32_t op = r.header.opcode;
  if (op == FUSE_INIT) return init(r, b);
  if (!initialised()) return EIO;
  if (cfg_.readonly && mutates(op)) return EROFS;
  switch (op) {
    case FUSE_LOOKUP:
      return lookup(r.header.nodeid, r.name, b);
    case FUSE_GETATTR:
      return getattr(r, b);
    case FUSE_SETATTR:
      return setattr(r, b);
    case FUSE_READLINK:
      return readlink(r, b);
    case FUSE_SYMLINK:
      return symlink(r, b);
    // Device nodes in a share would be host devices the guest could open.
    case FUSE_MKNOD:
      return EPERM;
    case FUSE_MKDIR:
      return mkdir(r, b);
    case FUSE_UNLINK:
      return remove(r, false);
    case FUSE_RMDIR:
      return remove(r, true);
    case FUSE_RENAME:
    case FUSE_RENAME2:
      return rename(r);
    case FUSE_OPEN:
      return open(r, b, false);
    case FUSE_OPENDIR:
      return open(r, b, true);
    case FUSE_READ:
      return read(r, b);
    case FUSE_WRITE:
      return write(r, b);
    case FUSE_STATFS:
      return statfs(r, b);
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
      return release(r);
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
      return fsync(r);
    case FUSE_FLUSH:
      return flush(r);
    case FUSE_ACCESS:
      return access(r);
    case FUSE_CREATE:
      return create(r, b);
    case FUSE_READDIR:
      return readdir(r, b, false);
    case FUSE_READDIRPLUS:
      return readdir(r, b, true);
    case FUSE_DESTROY:
      handles_.clear();
      inodes_.forget_all();
      return 0;
    default:
      return ENOSYS;
  }
}

int Server::init(const Request& r, ReplyBuilder& b) {
  const auto in = r.body<fuse_init_in>();
  fuse_init_out out{};
  out.major = FUSE_KERNEL_VERSION;
  if (in.major > FUSE_KERNEL_VERSION) {
    // The guest retries with our major: the reply is just the version.
    b.append(&out, 8);
    return 0;
  }
  if (in.major < FUSE_KERNEL_VERSION || in.minor < kMinMinor) return EPROTO;
  // A second INIT starts a new session: nothing of the old one is valid.
  handles_.clear();
  inodes_.forget_all();
  out.minor = std::min(in.minor, kOurMinor);
  out.max_readahead = std::min(in.max_readahead, kMaxIo);
  const std::uint32_t wanted = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
                               FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES;
  out.flags = in.flags & wanted;
  out.max_background = 64;
  out.congestion_threshold = 48;
  out.max_write = kMaxIo;
  out.time_gran = 1;
  out.max_pages = static_cast<std::uint16_t>(kMaxIo / 4096);
  b.put(out);
  std::lock_guard lock(mu_);
  minor_ = out.minor;
  return 0;
}

fuse_attr Server::attr_of(const struct stat& st) const {
  fuse_attr a{};
  // Files of a file system mounted inside the share may share inode numbers
  // with the share's own: fold the device in.
  a.ino = static_cast<std::uint64_t>(st.st_ino) ^ (static_cast<std::uint64_t>(st.st_dev) << 48);
  a.size = static_cast<std::uint64_t>(st.st_size);
  a.blocks = static_cast<std::uint64_t>(st.st_blocks);
  a.atime = static_cast<std::uint64_t>(st.st_atim.tv_sec);
  a.mtime = static_cast<std::uint64_t>(st.st_mtim.tv_sec);
  a.ctime = static_cast<std::uint64_t>(st.st_ctim.tv_sec);
  a.atimensec = static_cast<std::uint32_t>(st.st_atim.tv_nsec);
  a.mtimensec = static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
  a.ctimensec = static_cast<std::uint32_t>(st.st_ctim.tv_nsec);
  a.mode = st.st_mode;
  a.nlink = static_cast<std::uint32_t>(st.st_nlink);
  a.uid = cfg_.owner_uid;
  a.gid = cfg_.owner_gid;
  a.rdev = static_cast<std::uint32_t>(st.st_rdev);
  a.blksize = static_cast<std::uint32_t>(st.st_blksize);
  return a;
}

int Server::entry_for(const Inode& dir, std::string_view name, ReplyBuilder& b) {
  if (!valid_name(name)) return name == "." || name == ".." ? EINVAL : ENOENT;
  auto fd = open_beneath(dir.fd.get(), name, O_PATH);
  if (!fd) return fd.error();
  auto st = stat_fd(fd->get());
  if (!st) return st.error();
  auto id = inodes_.remember(std::move(*fd), *st);
  if (!id) return id.error();
  fuse_entry_out e{};
  e.nodeid = *id;
  e.entry_valid = kValidSecs;
  e.attr_valid = kValidSecs;
  e.attr = attr_of(*st);
  b.put(e);
  return 0;
}

int Server::lookup(std::uint64_t parent, std::string_view name, ReplyBuilder& b) {
  auto dir = inodes_.get(parent);
  if (!dir) return ENOENT;
  return entry_for(*dir, name, b);
}

void Server::forget(const Request& r) {
  if (r.header.opcode == FUSE_FORGET) {
    inodes_.forget(r.header.nodeid, r.body<fuse_forget_in>().nlookup);
    return;
  }
  for (std::size_t at = 0; at + sizeof(fuse_forget_one) <= r.data.size();
       at += sizeof(fuse_forget_one)) {
    fuse_forget_one one{};
    std::memcpy(&one, r.data.data() + at, sizeof one);
    inodes_.forget(one.nodeid, one.nlookup);
  }
}

int Server::getattr(const Request& r, ReplyBuilder& b) {
  auto node = inodes_.get(r.header.nodeid);
  if (!node) return ENOENT;
  auto st = stat_fd(node->fd.get());
  if (!st) return st.error();
  fuse_attr_out out{};
  out.attr_valid = kValidSecs;
  out.attr = attr_of(*st);
  b.put(out);
  return 0;
}

}  // namespace voidbox::virtiofs
