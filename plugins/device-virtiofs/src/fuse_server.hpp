// A FUSE server over one host directory (the share root), for virtio-fs.
//
// handle() is thread-safe and serves each request on the caller's thread;
// the inode and handle tables have their own locks, held only to find or
// change an entry, never across host I/O, so a read blocked on a slow file
// does not hold up a getattr from another worker.
//
// Read-only shares refuse every request that would change the host tree
// with EROFS here, whatever the guest's mount flags say. Attributes report
// every file as owned by owner_uid/owner_gid (the guest's command user), so
// that user may write a read-write share under the guest kernel's own
// permission checks (virtio-fs mounts with default_permissions); on the
// host, files are created by and owned by whoever runs the VMM, and the
// guest's uid/gid changes are accepted and ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "fuse_wire.hpp"
#include "share_nodes.hpp"

namespace voidbox::virtiofs {

struct ServerConfig {
  std::string root;
  bool readonly = true;
  std::uint32_t owner_uid = 1000;
  std::uint32_t owner_gid = 1000;
  std::size_t max_inodes = 16384;
  std::size_t max_handles = 4096;
};

class Server {
 public:
  static std::expected<std::unique_ptr<Server>, std::string> open(ServerConfig config);

  // Serves one request; `reply` receives at most `reply_limit` bytes, and
  // stays empty for requests that take none (FORGET, BATCH_FORGET) or when
  // even an error reply would not fit or the header does not parse.
  void handle(std::span<const std::byte> request, std::size_t reply_limit,
              std::vector<std::byte>& reply);

  const ServerConfig& config() const { return cfg_; }
  std::size_t inode_count() const { return inodes_.size(); }
  std::size_t handle_count() const { return handles_.size(); }

 private:
  Server(ServerConfig config, UniqueFd root);

  // Each returns 0 with the payload built, or the errno for the reply.
  int serve(const Request& r, ReplyBuilder& b);
  int init(const Request& r, ReplyBuilder& b);
  int lookup(std::uint64_t parent, std::string_view name, ReplyBuilder& b);
  int getattr(const Request& r, ReplyBuilder& b);
  int setattr(const Request& r, ReplyBuilder& b);
  int open(const Request& r, ReplyBuilder& b, bool dir);
  int create(const Request& r, ReplyBuilder& b);
  int read(const Request& r, ReplyBuilder& b);
  int write(const Request& r, ReplyBuilder& b);
  int readdir(const Request& r, ReplyBuilder& b, bool plus);
  int release(const Request& r);
  int fsync(const Request& r);
  int flush(const Request& r);
  int access(const Request& r);
  int statfs(const Request& r, ReplyBuilder& b);
  int readlink(const Request& r, ReplyBuilder& b);
  int mkdir(const Request& r, ReplyBuilder& b);
  int symlink(const Request& r, ReplyBuilder& b);
  int remove(const Request& r, bool dir);
  int rename(const Request& r);
  void forget(const Request& r);

  // Looks `name` up beneath the inode `dir` and appends its fuse_entry_out.
  int entry_for(const Inode& dir, std::string_view name, ReplyBuilder& b);
  fuse_attr attr_of(const struct stat& st) const;
  bool initialised() const;

  ServerConfig cfg_;
  InodeTable inodes_;
  HandleTable handles_;
  mutable std::mutex mu_;    // guards minor_
  std::uint32_t minor_ = 0;  // 0 until INIT
};

}  // namespace voidbox::virtiofs
