// An ext4 image of an unpacked rootfs, made by mke2fs -d, for a read-only
// virtio-blk root.
#pragma once

#include <cstdint>
#include <string>

#include "result.hpp"

namespace voidbox::oci {

struct TreeSize {
  std::uint64_t bytes = 0;  // file contents rounded up to 4 KiB blocks
  std::uint64_t inodes = 0;
};

Result<TreeSize> measure_tree(const std::string& dir);

// 1.35 x content + 16 MiB of slack for metadata, at least 64 MiB, whole MiB.
std::uint64_t disk_size_for(const TreeSize& tree);

// Writes `image_path` (replacing it) from the contents of `rootfs_dir`.
Result<std::uint64_t> make_ext4_image(const std::string& rootfs_dir, const std::string& image_path);

}  // namespace voidbox::oci
