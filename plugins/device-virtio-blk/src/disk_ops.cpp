#include "disk_ops.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace voidbox::blk {

const char* to_string(DiskError e) {
  switch (e) {
    case DiskError::kOutOfRange:
      return "request beyond the end of the disk";
    case DiskError::kReadOnly:
      return "the disk is read-only";
    case DiskError::kIo:
      return "host I/O error";
  }
  return "unknown disk error";
}

namespace {

class RawDisk final : public DiskOps {
 public:
  RawDisk(int fd, std::uint64_t size, bool read_only)
      : fd_(fd), size_(size), read_only_(read_only) {}
  ~RawDisk() override { ::close(fd_); }

  std::uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }

  std::expected<void, DiskError> read(std::uint64_t offset,
                                      std::span<const DiskBuffer> buffers) override {
    return transfer(offset, buffers, false);
  }
  std::expected<void, DiskError> write(std::uint64_t offset,
                                       std::span<const DiskBuffer> buffers) override {
    if (read_only_) return std::unexpected(DiskError::kReadOnly);
    return transfer(offset, buffers, true);
  }
  std::expected<void, DiskError> flush() override {
    if (read_only_) return {};
    if (::fdatasync(fd_) != 0) return std::unexpected(DiskError::kIo);
    return {};
  }

 private:
  // One preadv/pwritev per IOV_MAX buffers, resumed after short transfers.
  std::expected<void, DiskError> transfer(std::uint64_t offset, std::span<const DiskBuffer> buffers,
                                          bool to_disk) {
    std::uint64_t total = 0;
    for (const DiskBuffer& b : buffers) total += b.size();
    std::uint64_t end = 0;
    if (__builtin_add_overflow(offset, total, &end) || end > size_) {
      return std::unexpected(DiskError::kOutOfRange);
    }
    iov_.clear();
    for (const DiskBuffer& b : buffers) {
      if (!b.empty()) iov_.push_back({b.data(), b.size()});
    }
    std::size_t first = 0;
    while (first < iov_.size()) {
      const int count = static_cast<int>(std::min<std::size_t>(iov_.size() - first, IOV_MAX));
      const off_t at = static_cast<off_t>(offset);
      const ssize_t n = to_disk ? ::pwritev(fd_, &iov_[first], count, at)
                                : ::preadv(fd_, &iov_[first], count, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::unexpected(DiskError::kIo);
      offset += static_cast<std::uint64_t>(n);
      auto left = static_cast<std::size_t>(n);
      while (left > 0 && left >= iov_[first].iov_len) left -= iov_[first++].iov_len;
      if (left > 0) {
        // SAFETY: iov_base is one of `buffers`' data pointers (a guest RAM
        // view checked by GuestMemory::slice) and left < its iov_len, so the
        // result stays inside that same buffer.
        iov_[first].iov_base = static_cast<std::byte*>(iov_[first].iov_base) + left;
        iov_[first].iov_len -= left;
      }
    }
    return {};
  }

  int fd_;
  std::uint64_t size_;
  bool read_only_;
  std::vector<iovec> iov_;  // reused: one request at a time per disk
};

}  // namespace

std::expected<std::unique_ptr<DiskOps>, std::string> open_raw_disk(const std::string& path,
                                                                   bool read_only) {
  const int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) return std::unexpected("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
    ::close(fd);
    return std::unexpected(path + " is not a regular file or block device");
  }
  std::uint64_t bytes = static_cast<std::uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    const off_t end = ::lseek(fd, 0, SEEK_END);
    bytes = end > 0 ? static_cast<std::uint64_t>(end) : 0;
  }
  return std::make_unique<RawDisk>(fd, bytes, read_only);
}

}  // namespace voidbox::blk
