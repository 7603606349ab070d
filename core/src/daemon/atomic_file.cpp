#include "daemon/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace voidbox::daemon {
namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

std::expected<void, std::string> write_file_atomically(const std::filesystem::path& path,
                                                       std::string_view bytes, unsigned mode) {
  static std::atomic<std::uint64_t> counter{0};
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return std::unexpected("cannot create " + path.parent_path().string() + ": " + ec.message());
  const auto temp =
      path.parent_path() / (std::string(kTemporaryPrefix) + std::to_string(::getpid()) + "-" +
                            std::to_string(counter++) + "-" + path.filename().string());
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return std::unexpected(errno_text("cannot create " + temp.string()));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto why = errno_text("cannot write " + temp.string());
      ::unlink(temp.c_str());
      return std::unexpected(why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    auto why = errno_text("cannot flush " + temp.string());
    ::unlink(temp.c_str());
    return std::unexpected(why);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    auto why = errno_text("cannot rename to " + path.string());
    ::unlink(temp.c_str());
    return std::unexpected(why);
  }
  // The rename is durable only once the directory entry is.
  Fd dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) (void)::fsync(dir.get());
  return {};
}

std::size_t remove_stale_temporaries(const std::filesystem::path& root) {
  std::size_t removed = 0;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return 0;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().filename().string().starts_with(kTemporaryPrefix)) {
      std::error_code rm;
      if (std::filesystem::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

std::string fnv1a_hex(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // the FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;  // the FNV 64 prime
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[h & 0xf];
    h >>= 4;
  }
  return out;
}

}  // namespace voidbox::daemon
