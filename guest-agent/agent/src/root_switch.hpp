// voidbox.root=<serial>: the commands' root is an image's ext4 disk (read-only,
// shared with other VMs) under an overlay whose writable layer is a tmpfs.
// PID 1 switches to it after modules and network, before it mounts shares
// and disks, so those land inside the new root.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace voidbox::agent {

struct RootRequest {
  std::optional<std::string> serial;  // unset: keep the initramfs root
  std::string error;                  // a voidbox.root word that does not parse
};

RootRequest root_from_cmdline(std::string_view cmdline);

// Mounts the disk with that serial read-only, an overlay over it, moves
// /dev, /proc, /sys and /tmp into the overlay and makes it "/" (pivot_root,
// or a move onto / and chroot when the old root is the initramfs, which
// pivot_root refuses). Returns the reason on failure, with the old root
// still in place and usable.
std::string switch_to_disk_root(const std::string& serial,
                                const std::string& sys_block = "/sys/block");

}  // namespace voidbox::agent
