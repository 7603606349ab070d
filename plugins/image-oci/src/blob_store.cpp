#include "blob_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "digest.hpp"

namespace voidbox::oci {
namespace {

constexpr size_t kMaxIndexBytes = 64 << 20;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

Result<void> make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail(VB_ERR_IO, "create " + path + ": " + ec.message());
  return {};
}

}  // namespace

boost::json::object to_json(const ImageRecord& r) {
  boost::json::array layers;
  for (const auto& l : r.layers) {
    layers.push_back({{"digest", l.digest}, {"size", l.size}, {"media_type", l.media_type}});
  }
  return {{"reference", r.reference},
          {"manifest_digest", r.manifest_digest},
          {"index_digest", r.index_digest.empty() ? boost::json::value(nullptr)
                                                  : boost::json::value(r.index_digest)},
          {"platform", r.platform},
          {"config_digest", r.config_digest},
          {"layers", std::move(layers)},
          {"pulled_at", r.pulled_at}};
}

Result<ImageRecord> image_record_from_json(const boost::json::value& value) {
  auto bad = [] { return fail(VB_ERR_IO, "refs.json: malformed image record"); };
  if (!value.is_object()) return bad();
  const auto& o = value.as_object();
  auto str = [&](const char* key) -> std::string {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  ImageRecord r;
  r.reference = str("reference");
  r.manifest_digest = str("manifest_digest");
  r.index_digest = str("index_digest");
  r.platform = str("platform");
  r.config_digest = str("config_digest");
  if (const auto* t = o.if_contains("pulled_at"); t && t->is_int64()) r.pulled_at = t->as_int64();
  if (!is_valid_digest(r.manifest_digest) || !is_valid_digest(r.config_digest)) return bad();
  const auto* layers = o.if_contains("layers");
  if (layers == nullptr || !layers->is_array()) return bad();
  for (const auto& l : layers->as_array()) {
    if (!l.is_object()) return bad();
    LayerRecord layer;
    const auto* d = l.as_object().if_contains("digest");
    const auto* s = l.as_object().if_contains("size");
    const auto* m = l.as_object().if_contains("media_type");
    if (!d || !d->is_string() || !is_valid_digest(d->as_string()) || !s) return bad();
    layer.digest = std::string(d->as_string());
    if (s->is_uint64())
      layer.size = s->as_uint64();
    else if (s->is_int64() && s->as_int64() >= 0)
      layer.size = static_cast<std::uint64_t>(s->as_int64());
    else
      return bad();
    if (m && m->is_string()) layer.media_type = std::string(m->as_string());
    r.layers.push_back(std::move(layer));
  }
  return r;
}

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode, bool wait) {
  FileLock lock;
  lock.fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.fd_) return fail(VB_ERR_IO, errno_text("open lock " + path));
  int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
  while (::flock(lock.fd_.get(), op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return FileLock{};
    return fail(VB_ERR_IO, errno_text("flock " + path));
  }
  return lock;
}

std::string BlobStore::default_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') {
    return std::string(xdg) + "/voidbox/oci";
  }
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/voidbox/oci";
}

Result<BlobStore> BlobStore::open(std::string root) {
  if (root.empty()) root = default_root();
  for (const char* sub : {"/blobs/sha256", "/locks", "/disks", "/tmp"}) {
    if (auto made = make_dirs(root + sub); !made) return std::unexpected(made.error());
  }
  return BlobStore(std::move(root));
}

std::string BlobStore::blob_path(const std::string& digest) const {
  return root_ + "/blobs/sha256/" + std::string(digest_hex(digest));
}
std::string BlobStore::partial_path(const std::string& digest) const {
  return blob_path(digest) + ".partial";
}
std::string BlobStore::lock_path(const std::string& digest) const {
  return root_ + "/locks/" + std::string(digest_hex(digest)) + ".lock";
}
std::string BlobStore::disk_path(const std::string& manifest_digest) const {
  return root_ + "/disks/" + std::string(digest_hex(manifest_digest)) + ".ext4";
}

Result<void> write_file_atomically(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return fail(VB_ERR_IO, errno_text("create " + tmp));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto err = errno_text("write " + tmp);
      ::unlink(tmp.c_str());
      return fail(VB_ERR_IO, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = errno_text("commit " + path);
    ::unlink(tmp.c_str());
    return fail(VB_ERR_IO, err);
  }
  auto dir = std::filesystem::path(path).parent_path().string();
  if (UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dfd) {
    ::fsync(dfd.get());
  }
  return {};
}

Result<void> BlobStore::put(const std::string& digest, std::string_view data) const {
  if (!is_valid_digest(digest)) return fail(VB_ERR_INVALID_ARGUMENT, "bad digest " + digest);
  if (sha256_of(data) != digest)
    return fail(VB_ERR_IO, "refusing to store " + digest + ": content differs");
  return write_file_atomically(blob_path(digest), data);
}

Result<std::string> BlobStore::read(const std::string& digest, size_t max_bytes) const {
  if (!is_valid_digest(digest)) return fail(VB_ERR_INVALID_ARGUMENT, "bad digest " + digest);
  std::ifstream in(blob_path(digest), std::ios::binary);
  if (!in) return fail(VB_ERR_NOT_FOUND, "blob " + digest + " is not in the cache");
  std::string data(max_bytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > max_bytes) return fail(VB_ERR_IO, "blob " + digest + " is too large");
  if (sha256_of(data) != digest) {
    return fail(VB_ERR_IO, "cached blob " + digest + " is corrupt; pull the image again");
  }
  return data;
}

bool BlobStore::verify(const std::string& digest, std::uint64_t size) const {
  struct stat st {};
  if (::stat(blob_path(digest).c_str(), &st) != 0 ||
      static_cast<std::uint64_t>(st.st_size) != size) {
    return false;
  }
  auto actual = sha256_of_file(blob_path(digest));
  return actual && *actual == digest;
}

Result<std::vector<ImageRecord>> BlobStore::load_index_locked() const {
  std::ifstream in(root_ + "/refs.json", std::ios::binary);
  if (!in) return std::vector<ImageRecord>{};
  std::string text(kMaxIndexBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxIndexBytes) return fail(VB_ERR_IO, root_ + "/refs.json is too large");
  boost::system::error_code ec;
  auto root = boost::json::parse(text, ec);
  const boost::json::value* images = nullptr;
  if (!ec && root.is_object()) images = root.as_object().if_contains("images");
  if (images == nullptr || !images->is_array()) {
    return fail(VB_ERR_IO, root_ + "/refs.json is malformed; remove it and pull again");
  }
  std::vector<ImageRecord> out;
  for (const auto& v : images->as_array()) {
    auto record = image_record_from_json(v);
    if (!record) return std::unexpected(record.error());
    out.push_back(std::move(*record));
  }
  return out;
}

Result<void> BlobStore::save_index_locked(const std::vector<ImageRecord>& images) const {
  boost::json::array array;
  for (const auto& image : images) array.push_back(to_json(image));
  boost::json::object root{{"version", 1}, {"images", std::move(array)}};
  return write_file_atomically(root_ + "/refs.json", boost::json::serialize(root));
}

Result<std::vector<ImageRecord>> BlobStore::list() const {
  auto lock = FileLock::acquire(root_ + "/refs.lock", FileLock::Mode::shared);
  if (!lock) return std::unexpected(lock.error());
  return load_index_locked();
}

Result<void> BlobStore::record(const ImageRecord& image) const {
  auto lock = FileLock::acquire(root_ + "/refs.lock", FileLock::Mode::exclusive);
  if (!lock) return std::unexpected(lock.error());
  auto images = load_index_locked();
  if (!images) return std::unexpected(images.error());
  std::erase_if(*images, [&](const ImageRecord& r) { return r.reference == image.reference; });
  images->push_back(image);
  return save_index_locked(*images);
}

Result<std::vector<std::string>> BlobStore::forget(const std::string& ref_or_digest) const {
  auto lock = FileLock::acquire(root_ + "/refs.lock", FileLock::Mode::exclusive);
  if (!lock) return std::unexpected(lock.error());
  auto images = load_index_locked();
  if (!images) return std::unexpected(images.error());
  std::vector<std::string> removed;
  std::erase_if(*images, [&](const ImageRecord& r) {
    bool match = r.reference == ref_or_digest || r.manifest_digest == ref_or_digest;
    if (match) removed.push_back(r.reference);
    return match;
  });
  if (removed.empty()) return removed;
  if (auto saved = save_index_locked(*images); !saved) return std::unexpected(saved.error());
  return removed;
}

Result<std::optional<ImageRecord>> BlobStore::find(const std::string& key) const {
  auto images = list();
  if (!images) return std::unexpected(images.error());
  for (auto& r : *images) {
    if (r.reference == key || r.manifest_digest == key) return std::optional<ImageRecord>(r);
  }
  return std::optional<ImageRecord>{};
}

}  // namespace voidbox::oci
