#include "rootfs_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "digest.hpp"

namespace voidbox::oci {
namespace {

constexpr std::uint64_t kMaxEntriesPerLayer = 4'000'000;
constexpr size_t kMaxXattrBytes = 64 * 1024;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Streams a blob into libarchive while hashing every byte read.
struct HashingReader {
  UniqueFd fd;
  Sha256 hasher;
  std::vector<char> buffer = std::vector<char>(1 << 20);
  bool failed = false;

  static la_ssize_t read(archive*, void* self, const void** out) {
    auto* r = static_cast<HashingReader*>(self);
    for (;;) {
      ssize_t n = ::read(r->fd.get(), r->buffer.data(), r->buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        r->failed = true;
        return -1;
      }
      r->hasher.update(std::string_view(r->buffer.data(), static_cast<size_t>(n)));
      *out = r->buffer.data();
      return n;
    }
  }
  // Hashes whatever libarchive did not need (padding after the end marker).
  bool drain() {
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) return true;
      hasher.update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    }
  }
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Per-layer state shared by the entry handlers.
struct LayerContext {
  std::string label;                        // "layer 2 (sha256:...)"
  std::unordered_set<std::string> touched;  // paths this layer created
};

bool is_permission_error(int err) {
  return err == EPERM || err == EACCES || err == EINVAL;
}

}  // namespace

boost::json::object UnpackReport::to_json() const {
  boost::json::array comp(compressions.begin(), compressions.end());
  return {{"layers", layers},
          {"entries", entries},
          {"whiteouts", whiteouts},
          {"skipped_devices", skipped_devices},
          {"ownership_errors", ownership_errors},
          {"permission_errors", permission_errors},
          {"xattr_errors", xattr_errors},
          {"hardlink_copies", hardlink_copies},
          {"content_bytes", content_bytes},
          {"compressions", std::move(comp)}};
}

Compression detect_compression(const unsigned char* head, size_t size) {
  if (size >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Compression::gzip;
  if (size >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
    return Compression::zstd;
  }
  return Compression::none;
}

Result<RootfsWriter> RootfsWriter::open(const std::string& dest_dir) {
  auto root = ConfinedRoot::open(dest_dir);
  if (!root) return std::unexpected(root.error());
  return RootfsWriter(std::move(*root));
}

namespace {

class EntryWriter {
 public:
  EntryWriter(const ConfinedRoot& root, UnpackReport& report, LayerContext& layer, archive* a)
      : root_(root), report_(report), layer_(layer), archive_(a) {}

  // Errors carry no layer prefix; the caller adds layer and entry.
  Result<void> apply(archive_entry* entry);

  std::vector<std::tuple<std::vector<std::string>, unsigned, std::int64_t, long>> dirs;

 private:
  Result<void> write_regular(int parent, const std::string& leaf, archive_entry* entry);
  Result<void> write_hardlink(int parent, const std::string& leaf, const std::string& target);
  Result<void> clear_opaque(int parent, const std::string& dir_path);
  void set_owner_and_times(int parent, const std::string& leaf, archive_entry* entry, bool is_link);
  void set_xattrs(int fd, archive_entry* entry);

  const ConfinedRoot& root_;
  UnpackReport& report_;
  LayerContext& layer_;
  archive* archive_;
};

void EntryWriter::set_owner_and_times(int parent, const std::string& leaf, archive_entry* entry,
                                      bool is_link) {
  int flags = AT_SYMLINK_NOFOLLOW;
  if (::fchownat(parent, leaf.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                 static_cast<gid_t>(archive_entry_gid(entry)), flags) != 0) {
    if (is_permission_error(errno)) ++report_.ownership_errors;
  }
  if (!is_link) {
    // After chown, which clears set-id bits.
    if (::fchmodat(parent, leaf.c_str(), archive_entry_perm(entry) & 07777, 0) != 0) {
      ++report_.permission_errors;
    }
  }
  timespec times[2];
  times[0].tv_sec = archive_entry_mtime(entry);
  times[0].tv_nsec = archive_entry_mtime_nsec(entry);
  times[1] = times[0];
  if (::utimensat(parent, leaf.c_str(), times, flags) != 0) ++report_.permission_errors;
}

void EntryWriter::set_xattrs(int fd, archive_entry* entry) {
  archive_entry_xattr_reset(entry);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (name == nullptr || size > kMaxXattrBytes) {
      ++report_.xattr_errors;
      continue;
    }
    if (::fsetxattr(fd, name, value, size, 0) != 0) ++report_.xattr_errors;
  }
}

Result<void> EntryWriter::write_regular(int parent, const std::string& leaf, archive_entry* entry) {
  UniqueFd fd(
      ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fail(VB_ERR_IO, errno_text("create"));
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  for (;;) {
    int rc = archive_read_data_block(archive_, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return fail(VB_ERR_IO, std::string("reading content: ") + archive_error_string(archive_));
    }
    const char* data = static_cast<const char*>(block);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), data, size, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(VB_ERR_IO, errno_text("write"));
      data += n;
      size -= static_cast<size_t>(n);
      offset += n;
      report_.content_bytes += static_cast<std::uint64_t>(n);
    }
  }
  // Sparse files end in a hole that no block covers.
  if (archive_entry_size_is_set(entry) &&
      ::ftruncate(fd.get(), static_cast<off_t>(archive_entry_size(entry))) != 0) {
    return fail(VB_ERR_IO, errno_text("truncate"));
  }
  set_xattrs(fd.get(), entry);
  return {};
}

Result<void> EntryWriter::write_hardlink(int parent, const std::string& leaf,
                                         const std::string& target) {
  auto parts = normalize_entry_path(target);
  if (!parts)
    return fail(VB_ERR_INVALID_ARGUMENT,
                "hard link target '" + target + "': " + parts.error().message);
  if (parts->empty()) return fail(VB_ERR_INVALID_ARGUMENT, "hard link to the root");
  auto target_dir = root_.open_dir(*parts, parts->size() - 1, false);
  if (!target_dir) {
    return fail(VB_ERR_INVALID_ARGUMENT,
                "hard link target '" + target + "': " + target_dir.error().message);
  }
  const std::string& target_leaf = parts->back();
  struct stat st {};
  if (::fstatat(target_dir->get(), target_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(VB_ERR_INVALID_ARGUMENT, "hard link target '" + target + "' does not exist");
  }
  if (S_ISDIR(st.st_mode)) return fail(VB_ERR_INVALID_ARGUMENT, "hard link to a directory");
  if (::linkat(target_dir->get(), target_leaf.c_str(), parent, leaf.c_str(), 0) == 0) return {};
  if (!is_permission_error(errno) || !S_ISREG(st.st_mode))
    return fail(VB_ERR_IO, errno_text("link"));
  // protected_hardlinks can refuse an unprivileged link: copy instead.
  UniqueFd in(::openat(target_dir->get(), target_leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  UniqueFd out(::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        st.st_mode & 07777));
  if (!in || !out) return fail(VB_ERR_IO, errno_text("copy for hard link"));
  std::vector<char> buffer(1 << 16);
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(VB_ERR_IO, errno_text("read for hard link"));
    if (n == 0) break;
    if (::write(out.get(), buffer.data(), static_cast<size_t>(n)) != n) {
      return fail(VB_ERR_IO, errno_text("write for hard link"));
    }
  }
  ++report_.hardlink_copies;
  return {};
}

Result<void> EntryWriter::clear_opaque(int parent, const std::string& dir_path) {
  int fd = ::openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(VB_ERR_IO, errno_text("open for opaque whiteout"));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return fail(VB_ERR_IO, errno_text("opendir"));
  }
  std::vector<std::string> victims;
  while (dirent* e = ::readdir(dir)) {
    std::string child = e->d_name;
    if (child == "." || child == "..") continue;
    std::string path = dir_path.empty() ? child : dir_path + "/" + child;
    if (!layer_.touched.contains(path)) victims.push_back(child);
  }
  ::closedir(dir);
  for (const auto& victim : victims) {
    if (auto removed = remove_tree(parent, victim); !removed) return removed;
  }
  return {};
}

Result<void> EntryWriter::apply(archive_entry* entry) {
  const char* raw_name = archive_entry_pathname(entry);
  if (raw_name == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "entry without a name");
  auto parts = normalize_entry_path(raw_name);
  if (!parts) return std::unexpected(parts.error());
  if (parts->empty()) return {};  // the root itself keeps the destination's metadata
  const std::string path = join_components(*parts, parts->size());
  const std::string leaf = parts->back();

  std::string whiteout_target;
  WhiteoutKind whiteout = classify_whiteout(leaf, &whiteout_target);
  if (whiteout == WhiteoutKind::none && leaf.starts_with(".wh.")) {
    return fail(VB_ERR_INVALID_ARGUMENT, "malformed whiteout name");
  }
  auto parent = root_.open_dir(*parts, parts->size() - 1, whiteout == WhiteoutKind::none);
  if (!parent) {
    if (whiteout != WhiteoutKind::none && parent.error().status == VB_ERR_IO) {
      return {};  // whiteout of something whose directory does not exist: nothing to hide
    }
    return std::unexpected(parent.error());
  }
  const int pfd = parent->get();
  if (whiteout == WhiteoutKind::opaque) {
    ++report_.whiteouts;
    return clear_opaque(pfd, join_components(*parts, parts->size() - 1));
  }
  if (whiteout == WhiteoutKind::file) {
    ++report_.whiteouts;
    return remove_tree(pfd, whiteout_target);
  }

  const mode_t type = archive_entry_filetype(entry);
  const char* hardlink = archive_entry_hardlink(entry);
  struct stat existing {};
  bool exists = ::fstatat(pfd, leaf.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(type == AE_IFDIR && S_ISDIR(existing.st_mode) && hardlink == nullptr)) {
    if (auto removed = remove_tree(pfd, leaf); !removed) return removed;
  }
  layer_.touched.insert(path);

  if (hardlink != nullptr) return write_hardlink(pfd, leaf, hardlink);
  switch (type) {
    case AE_IFDIR: {
      if (!exists || !S_ISDIR(existing.st_mode)) {
        if (::mkdirat(pfd, leaf.c_str(), 0700) != 0) return fail(VB_ERR_IO, errno_text("mkdir"));
      }
      int flags = AT_SYMLINK_NOFOLLOW;
      if (::fchownat(pfd, leaf.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                     static_cast<gid_t>(archive_entry_gid(entry)), flags) != 0 &&
          is_permission_error(errno)) {
        ++report_.ownership_errors;
      }
      if (UniqueFd dfd(
              ::openat(pfd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          dfd) {
        set_xattrs(dfd.get(), entry);
      }
      dirs.emplace_back(*parts, archive_entry_perm(entry) & 07777, archive_entry_mtime(entry),
                        archive_entry_mtime_nsec(entry));
      return {};
    }
    case AE_IFREG: {
      auto written = write_regular(pfd, leaf, entry);
      if (!written) return written;
      set_owner_and_times(pfd, leaf, entry, false);
      return {};
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      if (target == nullptr || std::strlen(target) > 4096) {
        return fail(VB_ERR_INVALID_ARGUMENT, "symlink without a valid target");
      }
      // The target is only text here; following it is confined at use.
      if (::symlinkat(target, pfd, leaf.c_str()) != 0)
        return fail(VB_ERR_IO, errno_text("symlink"));
      set_owner_and_times(pfd, leaf, entry, true);
      return {};
    }
    case AE_IFIFO: {
      if (::mkfifoat(pfd, leaf.c_str(), 0600) != 0) return fail(VB_ERR_IO, errno_text("mkfifo"));
      set_owner_and_times(pfd, leaf, entry, false);
      return {};
    }
    default:
      // Character and block devices (and sockets) are not recreated: the VM
      // gets its own /dev, and creating nodes needs privilege.
      ++report_.skipped_devices;
      return {};
  }
}

}  // namespace

Result<void> RootfsWriter::apply_layer(const std::string& blob_path, const std::string& digest,
                                       std::uint32_t index) {
  LayerContext layer;
  layer.label = "layer " + std::to_string(index + 1) + " (" + digest + ")";
  auto layer_error = [&](const std::string& what) {
    return fail(VB_ERR_INVALID_ARGUMENT, layer.label + ": " + what);
  };

  HashingReader reader;
  reader.fd.reset(::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!reader.fd)
    return fail(VB_ERR_NOT_FOUND, layer.label + ": " + errno_text("open " + blob_path));
  unsigned char head[8] = {};
  ssize_t got = ::pread(reader.fd.get(), head, sizeof head, 0);
  Compression compression = detect_compression(head, got > 0 ? static_cast<size_t>(got) : 0);

  std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
  switch (compression) {
    case Compression::gzip:
      archive_read_support_filter_gzip(a.get());
      break;
    case Compression::zstd:
      archive_read_support_filter_zstd(a.get());
      break;
    case Compression::none:
      archive_read_support_filter_none(a.get());
      break;
  }
  archive_read_support_format_tar(a.get());
  report_.compressions.push_back(compression == Compression::gzip   ? "gzip"
                                 : compression == Compression::zstd ? "zstd"
                                                                    : "none");
  // A damaged blob usually shows up as a decompression or tar error first;
  // say it is corrupt rather than blame the image.
  auto corrupt_check = [&]() -> std::optional<Error> {
    if (!reader.drain() || reader.failed) {
      return Error{VB_ERR_IO, layer.label + ": " + errno_text("read " + blob_path)};
    }
    std::string actual = reader.hasher.finish();
    if (actual == digest) return std::nullopt;
    return Error{VB_ERR_IO, layer.label + ": cached blob is corrupt (content hashes to " + actual +
                                "); pull the image again"};
  };
  auto archive_failure = [&](const std::string& what) {
    if (auto corrupt = corrupt_check()) return Result<void>(std::unexpected(*corrupt));
    return Result<void>(layer_error(what));
  };
  if (archive_read_open(a.get(), &reader, nullptr, &HashingReader::read, nullptr) != ARCHIVE_OK) {
    return archive_failure(std::string("not a tar stream: ") + archive_error_string(a.get()));
  }

  EntryWriter writer(root_, report_, layer, a.get());
  std::uint64_t count = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return archive_failure(std::string("corrupt tar stream: ") + archive_error_string(a.get()));
    }
    if (++count > kMaxEntriesPerLayer) return layer_error("more than 4 million entries");
    auto applied = writer.apply(entry);
    if (!applied) {
      if (auto corrupt = corrupt_check()) return std::unexpected(*corrupt);
      const char* name = archive_entry_pathname(entry);
      return fail(applied.error().status, layer.label + ": entry '" + (name ? name : "?") +
                                              "': " + applied.error().message);
    }
    ++report_.entries;
  }
  if (auto corrupt = corrupt_check()) return std::unexpected(*corrupt);
  for (auto& [parts, mode, sec, nsec] : writer.dirs) {
    dirs_.push_back({std::move(parts), mode, sec, nsec});
  }
  ++report_.layers;
  return {};
}

Result<void> RootfsWriter::finish() {
  // Deepest first, so setting a parent's mtime is the last touch it gets.
  std::stable_sort(dirs_.begin(), dirs_.end(), [](const DirMeta& a, const DirMeta& b) {
    return a.parts.size() > b.parts.size();
  });
  for (const auto& d : dirs_) {
    auto parent = root_.open_dir(d.parts, d.parts.size() - 1, false);
    if (!parent) continue;  // removed by a later whiteout
    const char* leaf = d.parts.back().c_str();
    struct stat st {};
    if (::fstatat(parent->get(), leaf, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
      continue;
    }
    if (::fchmodat(parent->get(), leaf, d.mode, 0) != 0) ++report_.permission_errors;
    timespec times[2];
    times[0].tv_sec = d.mtime_sec;
    times[0].tv_nsec = d.mtime_nsec;
    times[1] = times[0];
    if (::utimensat(parent->get(), leaf, times, AT_SYMLINK_NOFOLLOW) != 0)
      ++report_.permission_errors;
  }
  dirs_.clear();
  return {};
}

}  // namespace voidbox::oci
