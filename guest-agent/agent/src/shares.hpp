// Host shares and disks, mounted before the agent serves:
//   voidbox.mount<N>=<tag>,<guest path>,ro|rw    a virtio-9p device with that mount tag
//   voidbox.mount<N>=<tag>,<guest path>,ro|rw,virtiofs   a virtio-fs device with that tag
//   voidbox.disk<N>=<serial>,<guest path>,ro|rw  an ext4 virtio-blk disk with that serial
// (N from 0 to kMaxShares-1). A disk is found by its serial, not by its
// /dev/vdX name, which depends on probe order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace voidbox::agent {

inline constexpr int kMaxShares = 32;
inline constexpr const char* kShareMountOptions = "trans=virtio,version=9p2000.L,msize=512000";

struct Share {
  std::string tag;  // 9p or virtio-fs mount tag, or the disk's virtio-blk serial
  std::string path;
  bool readonly = true;
  bool virtiofs = false;  // a share over virtio-fs rather than virtio-9p
};

struct ShareList {
  std::vector<Share> shares;
  std::vector<std::string> errors;  // words that do not parse
};

ShareList shares_from_cmdline(std::string_view cmdline);
ShareList disks_from_cmdline(std::string_view cmdline);

// Creates each mount point and mounts the share there (read-only ones with
// MS_RDONLY as well as the host's own refusal); returns one
// "<tag> on <path>: <reason>" per share that failed.
std::vector<std::string> mount_shares(const std::vector<Share>& shares);

// Finds each disk's block device under `sys_block` (/sys/block/vd*/serial)
// and mounts /dev/<name> there as ext4; errors as mount_shares.
std::vector<std::string> mount_disks(const std::vector<Share>& disks,
                                     const std::string& sys_block = "/sys/block");

// The block device name (vda, ...) whose serial is `serial`, or "".
std::string block_device_with_serial(const std::string& sys_block, const std::string& serial);
// The same, waiting up to 2 s for the disk to appear; "" if it never does.
std::string wait_for_block_device(const std::string& sys_block, const std::string& serial);
}  // namespace voidbox::agent
