#include "blob_download.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "digest.hpp"

namespace voidbox::oci {
namespace {

constexpr int kMaxAttempts = 6;
constexpr std::uint64_t kProgressStep = 256 * 1024;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Test hook: with VOIDBOX_TEST_STALL_AFTER_BYTES=N a download stops making
// progress once its partial file holds N bytes, after making them durable,
// and says so on stderr, so a test can SIGKILL the process at a known point.
std::uint64_t stall_after_bytes() {
  const char* env = std::getenv("VOIDBOX_TEST_STALL_AFTER_BYTES");
  return env ? std::strtoull(env, nullptr, 10) : 0;
}

[[noreturn]] void stall_forever(int fd, std::uint64_t at) {
  ::fdatasync(fd);
  std::cerr << "voidbox-test: download stalled at " << at << " bytes" << std::endl;
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Hashes what a partial file already holds so the download can go on from there.
Result<std::uint64_t> hash_prefix(int fd, Sha256& hasher) {
  std::vector<char> buffer(1 << 20);
  std::uint64_t total = 0;
  if (::lseek(fd, 0, SEEK_SET) < 0) return fail(VB_ERR_IO, errno_text("lseek"));
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(VB_ERR_IO, errno_text("read partial blob"));
    if (n == 0) return total;
    hasher.update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    total += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

Result<DownloadOutcome> download_blob(const BlobStore& store, RegistryClient& client,
                                      const std::string& digest, std::uint64_t size,
                                      const std::atomic<bool>& cancelled,
                                      const BlobProgressFn& progress) {
  auto lock = FileLock::acquire(store.lock_path(digest), FileLock::Mode::exclusive);
  if (!lock) return std::unexpected(lock.error());
  DownloadOutcome outcome;
  const std::string final_path = store.blob_path(digest);
  const std::string partial = store.partial_path(digest);
  if (store.verify(digest, size)) {
    ::unlink(partial.c_str());
    outcome.was_cached = true;
    progress({size, size, VB_IMAGE_PROGRESS_CACHED});
    return outcome;
  }
  ::unlink(final_path.c_str());  // missing, wrong size or corrupt: fetch again

  const std::uint64_t stall_at = stall_after_bytes();
  for (int full_try = 0; full_try < 2; ++full_try) {
    UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return fail(VB_ERR_IO, errno_text("open " + partial));
    Sha256 hasher;
    auto have = hash_prefix(fd.get(), hasher);
    if (!have) return std::unexpected(have.error());
    std::uint64_t offset = *have;
    if (offset > size) {
      if (::ftruncate(fd.get(), 0) != 0) return fail(VB_ERR_IO, errno_text("truncate " + partial));
      hasher = Sha256();
      offset = 0;
    }
    if (full_try == 0) outcome.resumed_from = offset;
    std::uint64_t last_report = offset;
    progress({offset, size, VB_IMAGE_PROGRESS_DOWNLOADING});

    Error last_error{VB_ERR_IO, "no attempt made"};
    auto delay = std::chrono::milliseconds(250);
    for (int attempt = 0; attempt < kMaxAttempts && offset < size; ++attempt) {
      if (cancelled) return fail(VB_ERR_IO, "cancelled");
      const std::uint64_t request_offset = offset;
      bool first_chunk = true;
      bool overflow = false;
      bool write_failed = false;
      BodySink sink = [&](long status, const char* data, size_t n) {
        if (cancelled) return false;
        if (first_chunk) {
          first_chunk = false;
          if (status == 200 && request_offset > 0) {
            // The server ignored the range and sends everything: start over.
            if (::ftruncate(fd.get(), 0) != 0) return write_failed = true, false;
            hasher = Sha256();
            offset = 0;
          }
        }
        if (offset + n > size) return overflow = true, false;
        if (::lseek(fd.get(), 0, SEEK_END) < 0 || !write_all(fd.get(), data, n)) {
          return write_failed = true, false;
        }
        hasher.update(std::string_view(data, n));
        offset += n;
        outcome.downloaded += n;
        if (stall_at > 0 && offset >= stall_at) stall_forever(fd.get(), offset);
        if (offset - last_report >= kProgressStep || offset == size) {
          last_report = offset;
          progress({offset, size, VB_IMAGE_PROGRESS_DOWNLOADING});
        }
        return true;
      };
      auto response = client.fetch_blob_once(digest, offset, sink);
      if (overflow) {
        return fail(VB_ERR_IO, "blob " + digest + " is larger than the " + std::to_string(size) +
                                   " bytes its descriptor declares");
      }
      if (write_failed) return fail(VB_ERR_IO, errno_text("write " + partial));
      if (cancelled) return fail(VB_ERR_IO, "cancelled");
      if (response) {
        long status = response->status;
        if (status == 200 || status == 206) {
          if (offset == size) break;
          last_error = {VB_ERR_IO, "blob " + digest + ": connection closed early"};
        } else if (status == 416) {
          if (::ftruncate(fd.get(), 0) != 0) return fail(VB_ERR_IO, errno_text("truncate"));
          hasher = Sha256();
          offset = 0;
          last_error = {VB_ERR_IO, "blob " + digest + ": range not satisfiable"};
          continue;
        } else if (is_retryable_status(status)) {
          last_error = {VB_ERR_IO, "blob " + digest + ": HTTP " + std::to_string(status)};
        } else {
          std::string detail = registry_error_text(response->body);
          return fail(status == 404 ? VB_ERR_NOT_FOUND : VB_ERR_IO,
                      "blob " + digest + ": HTTP " + std::to_string(status) +
                          (detail.empty() ? "" : " (" + detail + ")"));
        }
      } else {
        if (!response.error().retryable) return std::unexpected(response.error());
        last_error = response.error();
      }
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    if (offset < size) return std::unexpected(last_error);

    progress({offset, size, VB_IMAGE_PROGRESS_VERIFYING});
    std::string actual = hasher.finish();
    if (actual != digest) {
      ::unlink(partial.c_str());
      if (full_try == 0) continue;  // maybe a stale partial from elsewhere: once more from zero
      return fail(VB_ERR_IO,
                  "blob " + digest + " failed verification: content hashes to " + actual);
    }
    if (::fsync(fd.get()) != 0 || ::rename(partial.c_str(), final_path.c_str()) != 0) {
      return fail(VB_ERR_IO, errno_text("commit " + final_path));
    }
    std::string dir = store.root() + "/blobs/sha256";
    if (UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dfd)
      ::fsync(dfd.get());
    progress({size, size, VB_IMAGE_PROGRESS_DONE});
    return outcome;
  }
  return fail(VB_ERR_IO, "blob " + digest + " could not be fetched");
}

}  // namespace voidbox::oci
