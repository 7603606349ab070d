// Host shares: the `voidbox.mount<N>=<tag>,<guest path>,ro|rw` words of the
// kernel command line (N from 0 to kMaxShares-1), each a virtio-9p device
// with that mount tag, mounted before the agent serves.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace voidbox::agent {

inline constexpr int kMaxShares = 32;
inline constexpr const char* kShareMountOptions = "trans=virtio,version=9p2000.L,msize=512000";

struct Share {
  std::string tag;
  std::string path;
  bool readonly = true;
};

struct ShareList {
  std::vector<Share> shares;
  std::vector<std::string> errors;  // words that do not parse
};

ShareList shares_from_cmdline(std::string_view cmdline);

// Creates each mount point and mounts the share there (read-only ones with
// MS_RDONLY as well as the host's own refusal); returns one
// "<tag> on <path>: <reason>" per share that failed.
std::vector<std::string> mount_shares(const std::vector<Share>& shares);

}  // namespace voidbox::agent
