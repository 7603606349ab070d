#include "image_service.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "digest.hpp"
#include "puller.hpp"
#include "registry_client.hpp"
#include "rootfs_disk.hpp"
#include "rootfs_writer.hpp"

namespace voidbox::oci {
namespace {

Result<FileLock> shared_cache_lock(const BlobStore& store) {
  return FileLock::acquire(store.cache_lock_path(), FileLock::Mode::shared);
}

}  // namespace

Result<ServiceConfig> parse_service_config(std::string_view json) {
  ServiceConfig config;
  if (json.empty()) return config;
  boost::system::error_code ec;
  auto root = boost::json::parse(json, ec);
  if (ec || !root.is_object())
    return fail(VB_ERR_INVALID_ARGUMENT, "image source config is not a JSON object");
  const auto& o = root.as_object();
  auto bad = [](const char* key) {
    return fail(VB_ERR_INVALID_ARGUMENT, std::string("image source config: bad '") + key + "'");
  };
  for (const auto& [key, value] : o) {
    if (key == "cache_dir" || key == "docker_config" || key == "platform") {
      if (!value.is_string()) return bad(key.data());
    }
  }
  if (const auto* v = o.if_contains("cache_dir")) config.cache_dir = std::string(v->as_string());
  if (const auto* v = o.if_contains("docker_config"))
    config.docker_config = std::string(v->as_string());
  if (const auto* v = o.if_contains("platform")) {
    auto platform = parse_platform(v->as_string());
    if (!platform) return std::unexpected(platform.error());
    config.platform = *platform;
  }
  if (const auto* v = o.if_contains("insecure_registries")) {
    if (!v->is_array()) return bad("insecure_registries");
    for (const auto& host : v->as_array()) {
      if (!host.is_string()) return bad("insecure_registries");
      config.insecure_registries.emplace_back(host.as_string());
    }
  }
  if (const auto* v = o.if_contains("max_concurrent_downloads")) {
    if (!v->is_int64() || v->as_int64() < 1 || v->as_int64() > 32)
      return bad("max_concurrent_downloads");
    config.max_concurrent_downloads = static_cast<int>(v->as_int64());
  }
  return config;
}

Result<ImageService> ImageService::open(ServiceConfig config) {
  auto store = BlobStore::open(config.cache_dir);
  if (!store) return std::unexpected(store.error());
  config.cache_dir = store->root();
  return ImageService(std::move(config), std::move(*store));
}

Result<boost::json::object> ImageService::pull(const std::string& ref_text,
                                               std::string_view options_json,
                                               const Progress& progress) {
  auto ref = parse_reference(ref_text);
  if (!ref) return std::unexpected(ref.error());
  PullOptions options;
  options.platform = config_.platform;
  options.max_concurrent_downloads = config_.max_concurrent_downloads;
  options.client = {config_.insecure_registries, config_.docker_config};
  options.progress = progress;
  if (!options_json.empty()) {
    boost::system::error_code ec;
    auto root = boost::json::parse(options_json, ec);
    if (ec || !root.is_object())
      return fail(VB_ERR_INVALID_ARGUMENT, "pull options are not a JSON object");
    if (const auto* p = root.as_object().if_contains("platform")) {
      if (!p->is_string())
        return fail(VB_ERR_INVALID_ARGUMENT, "pull option 'platform' must be a string");
      auto platform = parse_platform(p->as_string());
      if (!platform) return std::unexpected(platform.error());
      options.platform = *platform;
    }
  }
  auto lock = shared_cache_lock(store_);
  if (!lock) return std::unexpected(lock.error());
  auto result = pull_image(store_, *ref, options);
  if (!result) return std::unexpected(result.error());
  boost::json::object out = to_json(result->image);
  out["config"] = result->config;
  out["downloaded_bytes"] = result->downloaded_bytes;
  out["resumed_bytes"] = result->resumed_bytes;
  out["cached_layers"] = result->cached_layers;
  return out;
}

Result<ImageRecord> ImageService::resolve(const std::string& ref_or_digest) {
  std::string key = ref_or_digest;
  if (!is_valid_digest(ref_or_digest)) {
    auto ref = parse_reference(ref_or_digest);
    if (!ref) return std::unexpected(ref.error());
    key = ref->canonical();
  }
  auto found = store_.find(key);
  if (!found) return std::unexpected(found.error());
  if (!*found) {
    return fail(VB_ERR_NOT_FOUND, "image " + ref_or_digest + " is not in the cache; pull it first");
  }
  return **found;
}

Result<boost::json::object> ImageService::unpack_locked(const ImageRecord& image,
                                                        const std::string& dest) {
  auto writer = RootfsWriter::open(dest);
  if (!writer) return std::unexpected(writer.error());
  for (std::uint32_t i = 0; i < image.layers.size(); ++i) {
    const auto& layer = image.layers[i];
    auto applied = writer->apply_layer(store_.blob_path(layer.digest), layer.digest, i);
    if (!applied) return std::unexpected(applied.error());
  }
  if (auto done = writer->finish(); !done) return std::unexpected(done.error());
  boost::json::object out = writer->report().to_json();
  out["reference"] = image.reference;
  out["manifest_digest"] = image.manifest_digest;
  out["dest"] = dest;
  return out;
}

Result<boost::json::object> ImageService::unpack(const std::string& ref_or_digest,
                                                 const std::string& dest) {
  auto lock = shared_cache_lock(store_);
  if (!lock) return std::unexpected(lock.error());
  auto image = resolve(ref_or_digest);
  if (!image) return std::unexpected(image.error());
  std::error_code ec;
  if (std::filesystem::exists(dest, ec) && !std::filesystem::is_empty(dest, ec)) {
    return fail(VB_ERR_INVALID_ARGUMENT, "destination " + dest + " exists and is not empty");
  }
  return unpack_locked(*image, dest);
}

Result<boost::json::object> ImageService::build_rootfs_disk(const std::string& ref_or_digest) {
  auto lock = shared_cache_lock(store_);
  if (!lock) return std::unexpected(lock.error());
  auto image = resolve(ref_or_digest);
  if (!image) return std::unexpected(image.error());
  const std::string path = store_.disk_path(image->manifest_digest);
  auto disk_lock = FileLock::acquire(store_.lock_path(image->manifest_digest) + ".disk",
                                     FileLock::Mode::exclusive);
  if (!disk_lock) return std::unexpected(disk_lock.error());
  auto config_text = store_.read(image->config_digest, kMaxConfigBytes);
  if (!config_text) return std::unexpected(config_text.error());
  boost::system::error_code parse_ec;
  boost::json::value config = boost::json::parse(*config_text, parse_ec);
  if (parse_ec || !config.is_object()) return fail(VB_ERR_IO, "image config is not a JSON object");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    return boost::json::object{{"path", path},
                               {"size_bytes", static_cast<std::uint64_t>(st.st_size)},
                               {"cached", true},
                               {"manifest_digest", image->manifest_digest},
                               {"config", std::move(config)}};
  }
  const std::string hex(digest_hex(image->manifest_digest));
  const std::string work = store_.tmp_dir() + "/rootfs-" + hex + "-" + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  auto cleanup = [&] { std::filesystem::remove_all(work, ec); };
  auto unpacked = unpack_locked(*image, work);
  if (!unpacked) {
    cleanup();
    return std::unexpected(unpacked.error());
  }
  const std::string tmp_image = path + ".tmp." + std::to_string(::getpid());
  auto size = make_ext4_image(work, tmp_image);
  cleanup();
  if (!size) return std::unexpected(size.error());
  if (::rename(tmp_image.c_str(), path.c_str()) != 0) {
    ::unlink(tmp_image.c_str());
    return fail(VB_ERR_IO, "rename " + tmp_image + ": " + std::strerror(errno));
  }
  return boost::json::object{{"path", path},
                             {"size_bytes", *size},
                             {"cached", false},
                             {"manifest_digest", image->manifest_digest},
                             {"config", std::move(config)},
                             {"unpack", std::move(*unpacked)}};
}

Result<boost::json::object> ImageService::list() {
  auto images = store_.list();
  if (!images) return std::unexpected(images.error());
  boost::json::array out;
  for (const auto& image : *images) {
    std::uint64_t size = 0;
    for (const auto& l : image.layers) size += l.size;
    out.push_back({{"reference", image.reference},
                   {"manifest_digest", image.manifest_digest},
                   {"platform", image.platform},
                   {"layers", image.layers.size()},
                   {"size", size},
                   {"pulled_at", image.pulled_at}});
  }
  return boost::json::object{{"images", std::move(out)}, {"cache_dir", store_.root()}};
}

Result<boost::json::object> ImageService::remove(const std::string& ref_or_digest) {
  std::string key = ref_or_digest;
  if (!is_valid_digest(ref_or_digest)) {
    auto ref = parse_reference(ref_or_digest);
    if (!ref) return std::unexpected(ref.error());
    key = ref->canonical();
  }
  auto removed = store_.forget(key);
  if (!removed) return std::unexpected(removed.error());
  if (removed->empty()) return fail(VB_ERR_NOT_FOUND, "no cached image matches " + ref_or_digest);
  return boost::json::object{{"removed", boost::json::array(removed->begin(), removed->end())}};
}

Result<boost::json::object> ImageService::prune() {
  // Exclusive: no pull, unpack or disk build is between fetching a blob and
  // recording the reference that keeps it.
  auto lock = FileLock::acquire(store_.cache_lock_path(), FileLock::Mode::exclusive);
  if (!lock) return std::unexpected(lock.error());
  auto images = store_.list();
  if (!images) return std::unexpected(images.error());
  std::set<std::string> keep;  // hex digests
  std::set<std::string> keep_disks;
  for (const auto& image : *images) {
    for (const auto* d : {&image.manifest_digest, &image.index_digest, &image.config_digest}) {
      if (is_valid_digest(*d)) keep.insert(std::string(digest_hex(*d)));
    }
    for (const auto& l : image.layers) keep.insert(std::string(digest_hex(l.digest)));
    keep_disks.insert(std::string(digest_hex(image.manifest_digest)) + ".ext4");
  }
  std::uint64_t freed = 0;
  std::uint64_t removed_blobs = 0;
  std::uint64_t removed_disks = 0;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(store_.root() + "/blobs/sha256", ec)) {
    std::string name = entry.path().filename().string();
    std::string hex = name.substr(0, name.find('.'));
    if (keep.contains(hex) && name == hex) continue;
    std::error_code size_ec;
    auto size = entry.file_size(size_ec);
    if (fs::remove(entry.path(), size_ec)) {
      freed += size_ec ? 0 : size;
      if (name == hex) ++removed_blobs;
      fs::remove(store_.root() + "/locks/" + hex + ".lock", size_ec);
    }
  }
  for (const auto& entry : fs::directory_iterator(store_.root() + "/disks", ec)) {
    std::string name = entry.path().filename().string();
    if (keep_disks.contains(name)) continue;
    std::error_code size_ec;
    auto size = entry.file_size(size_ec);
    if (fs::remove(entry.path(), size_ec)) {
      freed += size_ec ? 0 : size;
      ++removed_disks;
    }
  }
  for (const auto& entry : fs::directory_iterator(store_.tmp_dir(), ec)) {
    std::error_code rm_ec;
    fs::remove_all(entry.path(), rm_ec);
  }
  return boost::json::object{
      {"removed_blobs", removed_blobs}, {"removed_disks", removed_disks}, {"freed_bytes", freed}};
}

}  // namespace voidbox::oci
