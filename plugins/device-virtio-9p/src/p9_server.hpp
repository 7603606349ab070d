// A 9P2000.L file server over one host directory (the share root).
//
// handle() is thread-safe and serves each request on the caller's thread:
// the fid table has its own lock, held only to find or change an entry,
// never across host I/O, so a read blocked on a slow file does not hold up a
// getattr or a walk from another thread. Two requests on one fid may run at
// once (reads and writes use pread/pwrite); a fid's own state (its node, its
// open file, a readdir position) changes under that fid's lock.
//
// Read-only shares refuse every request that would change the host tree with
// EROFS here, whatever the guest's mount flags say. Attributes report every
// file as owned by `owner_uid`/`owner_gid` (the guest's command user), so
// that user may write a read-write share; on the host, files are created by
// and owned by whoever runs the VMM. Requests to change ownership are
// accepted and ignored.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "p9_wire.hpp"
#include "share_fs.hpp"

namespace voidbox::p9 {

inline constexpr std::uint32_t kMaxMsize = 512 * 1024;
inline constexpr std::uint32_t kMinMsize = 4096;

struct ServerConfig {
  std::string root;
  bool readonly = true;
  std::uint32_t max_msize = kMaxMsize;
  std::size_t max_fids = 4096;
  std::uint32_t owner_uid = 1000;
  std::uint32_t owner_gid = 1000;
};

// Tags of requests the transport has taken but not yet answered, so that a
// Tflush is answered only once the request it names has been.
class InFlight {
 public:
  void begin(std::uint16_t tag);
  void end(std::uint16_t tag);
  void wait_gone(std::uint16_t tag);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint16_t, std::uint32_t> tags_;  // tag -> requests holding it
};

class Server {
 public:
  static std::expected<std::unique_ptr<Server>, std::string> open(ServerConfig config);

  // Serves one message; `reply` receives at most min(reply_limit, msize)
  // bytes, or nothing when even an error reply would not fit.
  void handle(std::span<const std::byte> request, std::size_t reply_limit,
              std::vector<std::byte>& reply);

  InFlight& in_flight() { return in_flight_; }
  std::uint32_t msize() const;
  std::size_t fid_count() const;
  const ServerConfig& config() const { return cfg_; }

 private:
  struct Fid {
    std::mutex mu;
    std::shared_ptr<const Node> node;
    std::shared_ptr<const UniqueFd> file;  // after lopen/lcreate
    bool is_dir = false;
  };
  using FidPtr = std::shared_ptr<Fid>;

  Server(ServerConfig config, UniqueFd root);

  // Each returns 0 with the reply built, or the errno for an Rlerror.
  int serve(const Request& r, ReplyBuilder& b);
  int version(const Version& m, ReplyBuilder& b);
  int attach(const Attach& m, ReplyBuilder& b);
  int walk(const Walk& m, ReplyBuilder& b);
  int clunk(std::uint32_t fid, bool remove);
  int lopen(const Lopen& m, ReplyBuilder& b);
  int lcreate(const Lcreate& m, ReplyBuilder& b);
  int read(const Read& m, ReplyBuilder& b);
  int write(const Write& m, ReplyBuilder& b);
  int readdir(const Readdir& m, ReplyBuilder& b);
  int getattr(const Getattr& m, ReplyBuilder& b);
  int setattr(const Setattr& m);
  int statfs(const Statfs& m, ReplyBuilder& b);
  int readlink(const Readlink& m, ReplyBuilder& b);
  int mkdir(const Mkdir& m, ReplyBuilder& b);
  int symlink(const Symlink& m, ReplyBuilder& b);
  int link(const Link& m);
  int rename(const Rename& m);
  int renameat(const Renameat& m);
  int unlinkat(const Unlinkat& m);
  int fsync(const Fsync& m);

  FidPtr find(std::uint32_t fid) const;
  // Adds or replaces `fid`; EMFILE past max_fids, EBADF if taken and !replace.
  int install(std::uint32_t fid, FidPtr f, bool replace);
  std::shared_ptr<const Node> node_of(std::uint32_t fid, int* err) const;
  std::shared_ptr<const UniqueFd> file_of(std::uint32_t fid, int* err) const;
  std::uint32_t reply_limit(std::size_t transport_limit) const;

  ServerConfig cfg_;
  std::shared_ptr<const UniqueFd> root_;
  InFlight in_flight_;
  mutable std::mutex mu_;  // guards fids_ and msize_
  std::unordered_map<std::uint32_t, FidPtr> fids_;
  std::uint32_t msize_ = 0;  // 0 until Tversion
};

}  // namespace voidbox::p9
