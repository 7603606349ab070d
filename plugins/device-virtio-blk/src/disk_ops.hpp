// What virtio-blk needs from a disk image, whatever its format: a byte size,
// scatter reads and gathers writes at a byte offset, and a flush. The raw
// implementation maps offsets 1:1 onto a host file or block device; a format
// with its own metadata (qcow2, a sparse overlay) implements the same table.
//
// Offsets and lengths come from the guest: every implementation checks
// offset + total length against size() (without overflow) before touching
// the file, so a request past the end fails instead of growing the image.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>

namespace voidbox::blk {

enum class DiskError {
  kOutOfRange,  // offset + length beyond size()
  kReadOnly,    // write or flush-with-data on a read-only disk
  kIo,          // the host I/O failed or ended early
};

const char* to_string(DiskError e);

// One guest buffer, already bounds-checked against guest memory.
using DiskBuffer = std::span<std::byte>;

class DiskOps {
 public:
  virtual ~DiskOps() = default;
  virtual std::uint64_t size() const = 0;  // bytes
  virtual bool read_only() const = 0;
  // Fills `buffers` in order from [offset, offset + their total length).
  virtual std::expected<void, DiskError> read(std::uint64_t offset,
                                              std::span<const DiskBuffer> buffers) = 0;
  // Writes `buffers` in order at offset.
  virtual std::expected<void, DiskError> write(std::uint64_t offset,
                                               std::span<const DiskBuffer> buffers) = 0;
  // Makes completed writes durable (a no-op on a read-only disk).
  virtual std::expected<void, DiskError> flush() = 0;
};

// Opens `path` (a regular file or block device) as a raw image.
std::expected<std::unique_ptr<DiskOps>, std::string> open_raw_disk(const std::string& path,
                                                                   bool read_only);

}  // namespace voidbox::blk
