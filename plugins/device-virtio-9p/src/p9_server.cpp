// Session, fid table and dispatch; the file operations are in p9_file_ops.cpp
// and p9_tree_ops.cpp.
#include "p9_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <type_traits>

namespace voidbox::p9 {

void InFlight::begin(std::uint16_t tag) {
  std::lock_guard lock(mu_);
  ++tags_[tag];
}

void InFlight::end(std::uint16_t tag) {
  {
    std::lock_guard lock(mu_);
    auto it = tags_.find(tag);
    if (it == tags_.end()) return;
    if (--it->second == 0) tags_.erase(it);
  }
  cv_.notify_all();
}

void InFlight::wait_gone(std::uint16_t tag) {
  // Bounded: two flushes naming each other would otherwise wait forever.
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(60), [&] { return !tags_.contains(tag); });
}

std::expected<std::unique_ptr<Server>, std::string> Server::open(ServerConfig config) {
  if (config.root.empty() || config.root.front() != '/') {
    return std::unexpected("9p share root must be an absolute path, got '" + config.root + "'");
  }
  const int fd = ::open(config.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected("cannot open 9p share root " + config.root + ": " +
                           std::strerror(errno));
  }
  config.max_msize = std::clamp(config.max_msize, kMinMsize, kMaxMsize);
  if (config.max_fids == 0) config.max_fids = 1;
  return std::unique_ptr<Server>(new Server(std::move(config), UniqueFd(fd)));
}

Server::Server(ServerConfig config, UniqueFd root)
    : cfg_(std::move(config)), root_(std::make_shared<const UniqueFd>(std::move(root))) {}

std::uint32_t Server::msize() const {
  std::lock_guard lock(mu_);
  return msize_;
}

std::size_t Server::fid_count() const {
  std::lock_guard lock(mu_);
  return fids_.size();
}

std::uint32_t Server::reply_limit(std::size_t transport_limit) const {
  const std::uint32_t negotiated = msize();
  const std::size_t cap = negotiated == 0 ? cfg_.max_msize : negotiated;
  return static_cast<std::uint32_t>(std::min(cap, transport_limit));
}

void Server::handle(std::span<const std::byte> request, std::size_t transport_limit,
                    std::vector<std::byte>& reply) {
  reply.clear();
  const std::size_t limit = reply_limit(transport_limit);
  if (limit < kHeaderSize + 4) return;
  auto parsed = parse_request(request);
  if (!parsed) {
    auto tag = peek_tag(request);
    build_error(reply, tag ? *tag : kNoTag,
                parsed.error() == ParseError::kUnknownType ? EOPNOTSUPP : EPROTO);
    return;
  }
  ReplyBuilder b(reply, limit);
  b.begin(static_cast<std::uint8_t>(parsed->type + 1), parsed->tag);
  const int err = serve(*parsed, b);
  if (err != 0 || !b.ok()) {
    build_error(reply, parsed->tag, err != 0 ? static_cast<std::uint32_t>(err) : ERANGE);
    return;
  }
  b.finish();
}

int Server::serve(const Request& r, ReplyBuilder& b) {
  if (r.type != kTversion && msize() == 0) return EPROTO;
  return std::visit(
      [&](const auto& m) -> int {
        using M = std::decay_t<decltype(m)>;
        constexpr bool kMutates = std::is_same_v<M, Lcreate> || std::is_same_v<M, Symlink> ||
                                  std::is_same_v<M, Mknod> || std::is_same_v<M, Rename> ||
                                  std::is_same_v<M, Setattr> || std::is_same_v<M, Xattrcreate> ||
                                  std::is_same_v<M, Link> || std::is_same_v<M, Mkdir> ||
                                  std::is_same_v<M, Renameat> || std::is_same_v<M, Unlinkat> ||
                                  std::is_same_v<M, Write> || std::is_same_v<M, Remove>;
        if constexpr (kMutates) {
          if (cfg_.readonly) {
            // Tremove clunks its fid even when the removal fails.
            if constexpr (std::is_same_v<M, Remove>) clunk(m.fid, false);
            return EROFS;
          }
        }
        if constexpr (std::is_same_v<M, Version>) return version(m, b);
        if constexpr (std::is_same_v<M, Auth>) return EOPNOTSUPP;
        if constexpr (std::is_same_v<M, Attach>) return attach(m, b);
        if constexpr (std::is_same_v<M, Flush>) {
          if (m.oldtag != r.tag) in_flight_.wait_gone(m.oldtag);
          return 0;
        }
        if constexpr (std::is_same_v<M, Walk>) return walk(m, b);
        if constexpr (std::is_same_v<M, Clunk>) return clunk(m.fid, false);
        if constexpr (std::is_same_v<M, Remove>) return clunk(m.fid, true);
        if constexpr (std::is_same_v<M, Lopen>) return lopen(m, b);
        if constexpr (std::is_same_v<M, Lcreate>) return lcreate(m, b);
        if constexpr (std::is_same_v<M, Read>) return read(m, b);
        if constexpr (std::is_same_v<M, Write>) return write(m, b);
        if constexpr (std::is_same_v<M, Readdir>) return readdir(m, b);
        if constexpr (std::is_same_v<M, Getattr>) return getattr(m, b);
        if constexpr (std::is_same_v<M, Setattr>) return setattr(m);
        if constexpr (std::is_same_v<M, Statfs>) return statfs(m, b);
        if constexpr (std::is_same_v<M, Readlink>) return readlink(m, b);
        if constexpr (std::is_same_v<M, Mkdir>) return mkdir(m, b);
        if constexpr (std::is_same_v<M, Symlink>) return symlink(m, b);
        if constexpr (std::is_same_v<M, Link>) return link(m);
        if constexpr (std::is_same_v<M, Rename>) return rename(m);
        if constexpr (std::is_same_v<M, Renameat>) return renameat(m);
        if constexpr (std::is_same_v<M, Unlinkat>) return unlinkat(m);
        if constexpr (std::is_same_v<M, Fsync>) return fsync(m);
        // Device nodes in a share would be host devices the guest could open.
        if constexpr (std::is_same_v<M, Mknod>) return EPERM;
        if constexpr (std::is_same_v<M, Xattrwalk> || std::is_same_v<M, Xattrcreate>) {
          return EOPNOTSUPP;
        }
        if constexpr (std::is_same_v<M, Lock>) {
          // Locks are the guest's own business: granted, not taken on the host.
          if (!find(m.fid)) return EBADF;
          b.u8(0);  // P9_LOCK_SUCCESS
          return 0;
        }
        if constexpr (std::is_same_v<M, Getlock>) {
          if (!find(m.fid)) return EBADF;
          b.u8(2);  // F_UNLCK: nothing in the way
          b.u64(m.start);
          b.u64(m.length);
          b.u32(m.proc_id);
          b.str(m.client_id);
          return 0;
        }
        return EOPNOTSUPP;
      },
      r.body);
}

int Server::version(const Version& m, ReplyBuilder& b) {
  if (m.msize < kMinMsize) return EINVAL;
  const std::uint32_t msize = std::min(m.msize, cfg_.max_msize);
  const bool dotl = m.version.starts_with("9P2000.L");
  {
    std::lock_guard lock(mu_);
    fids_.clear();  // a new session forgets every fid
    msize_ = dotl ? msize : 0;
  }
  b.u32(msize);
  b.str(dotl ? "9P2000.L" : "unknown");
  return 0;
}

Server::FidPtr Server::find(std::uint32_t fid) const {
  std::lock_guard lock(mu_);
  auto it = fids_.find(fid);
  return it == fids_.end() ? nullptr : it->second;
}

int Server::install(std::uint32_t fid, FidPtr f, bool replace) {
  if (fid == kNoFid) return EBADF;
  std::lock_guard lock(mu_);
  auto it = fids_.find(fid);
  if (it != fids_.end()) {
    if (!replace) return EBADF;
    it->second = std::move(f);
    return 0;
  }
  if (fids_.size() >= cfg_.max_fids) return EMFILE;
  fids_.emplace(fid, std::move(f));
  return 0;
}

std::shared_ptr<const Node> Server::node_of(std::uint32_t fid, int* err) const {
  auto f = find(fid);
  if (!f) {
    *err = EBADF;
    return nullptr;
  }
  std::lock_guard lock(f->mu);
  return f->node;
}

std::shared_ptr<const UniqueFd> Server::file_of(std::uint32_t fid, int* err) const {
  auto f = find(fid);
  if (!f) {
    *err = EBADF;
    return nullptr;
  }
  std::lock_guard lock(f->mu);
  if (!f->file) *err = EBADF;
  return f->file;
}

int Server::attach(const Attach& m, ReplyBuilder& b) {
  auto st = stat_fd(root_->get());
  if (!st) return st.error();
  auto f = std::make_shared<Fid>();
  f->node = std::make_shared<const Node>(Node{root_, nullptr, {}});
  if (int e = install(m.fid, std::move(f), false); e != 0) return e;
  b.qid(qid_of(*st));
  return 0;
}

int Server::walk(const Walk& m, ReplyBuilder& b) {
  int err = 0;
  std::shared_ptr<const Node> node = node_of(m.fid, &err);
  if (!node) return err;
  std::vector<Qid> qids;
  for (std::uint16_t i = 0; i < m.count; ++i) {
    const std::string_view name = m.names[i];
    std::shared_ptr<const Node> next;
    if (name == "..") {
      next = node->up ? node->up : node;  // the share root is its own parent
    } else if (name == ".") {
      next = node;
    } else if (!valid_name(name)) {
      err = ENOENT;
    } else {
      auto fd = open_beneath(node->fd->get(), name, O_PATH);
      if (!fd) {
        err = fd.error();
      } else {
        next = std::make_shared<const Node>(
            Node{std::make_shared<const UniqueFd>(std::move(*fd)), node, std::string(name)});
      }
    }
    if (!next) break;
    auto st = stat_fd(next->fd->get());
    if (!st) {
      err = st.error();
      break;
    }
    qids.push_back(qid_of(*st));
    node = std::move(next);
  }
  if (m.count > 0 && qids.empty()) return err;
  if (qids.size() == m.count) {
    auto f = std::make_shared<Fid>();
    f->node = node;
    if (int e = install(m.newfid, std::move(f), m.newfid == m.fid); e != 0) return e;
  }
  b.u16(static_cast<std::uint16_t>(qids.size()));
  for (const Qid& q : qids) b.qid(q);
  return 0;
}

int Server::clunk(std::uint32_t fid, bool remove) {
  FidPtr f;
  {
    std::lock_guard lock(mu_);
    auto it = fids_.find(fid);
    if (it == fids_.end()) return EBADF;
    f = std::move(it->second);
    fids_.erase(it);
  }
  if (!remove) return 0;
  std::shared_ptr<const Node> node;
  {
    std::lock_guard lock(f->mu);
    node = f->node;
  }
  if (!node->up) return EBUSY;  // the share root
  auto st = stat_fd(node->fd->get());
  if (!st) return st.error();
  const int flags = S_ISDIR(st->st_mode) ? AT_REMOVEDIR : 0;
  if (::unlinkat(node->up->fd->get(), node->name.c_str(), flags) != 0) return errno;
  return 0;
}

}  // namespace voidbox::p9
