// The content-addressed cache shared by every voidbox process of a user:
//
//   <root>/blobs/sha256/<hex>          verified blobs (written once, renamed in)
//   <root>/blobs/sha256/<hex>.partial  a download in progress, resumable
//   <root>/locks/<hex>.lock            flock held while a blob is fetched
//   <root>/refs.json (+ refs.lock)     reference -> resolved image
//   <root>/disks/<hex>.ext4            rootfs disks keyed by manifest digest
//   <root>/cache.lock                  shared by users of blobs, exclusive by prune
//
// A blob file is trusted by name only after a full re-hash: pulls re-hash
// what is already there, and unpack hashes layers as it streams them, so a
// corrupt blob is found and fetched again rather than unpacked.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"
#include "unique_fd.hpp"

namespace voidbox::oci {

struct LayerRecord {
  std::string digest;
  std::uint64_t size = 0;
  std::string media_type;
};

struct ImageRecord {
  std::string reference;  // canonical
  std::string manifest_digest;
  std::string index_digest;  // empty when the reference named a manifest
  std::string platform;
  std::string config_digest;
  std::vector<LayerRecord> layers;
  std::int64_t pulled_at = 0;  // unix seconds
};

boost::json::object to_json(const ImageRecord& record);
Result<ImageRecord> image_record_from_json(const boost::json::value& value);

// Held flock(2) on a lock file; released on destruction.
class FileLock {
 public:
  enum class Mode { shared, exclusive };
  static Result<FileLock> acquire(const std::string& path, Mode mode, bool wait = true);
  bool held() const { return static_cast<bool>(fd_); }

 private:
  UniqueFd fd_;
};

class BlobStore {
 public:
  // Creates the directory layout under `root` if missing.
  static Result<BlobStore> open(std::string root);
  static std::string default_root();

  const std::string& root() const { return root_; }
  std::string blob_path(const std::string& digest) const;
  std::string partial_path(const std::string& digest) const;
  std::string lock_path(const std::string& digest) const;
  std::string disk_path(const std::string& manifest_digest) const;
  std::string tmp_dir() const { return root_ + "/tmp"; }
  std::string cache_lock_path() const { return root_ + "/cache.lock"; }

  // Writes a small blob (manifest, config) atomically after checking its digest.
  Result<void> put(const std::string& digest, std::string_view data) const;
  // Reads a small blob back, re-verifying its digest.
  Result<std::string> read(const std::string& digest, size_t max_bytes) const;
  // True if a blob exists with the given size and its content hashes to its name.
  bool verify(const std::string& digest, std::uint64_t size) const;

  // Reference index. Each mutation holds refs.lock.
  Result<std::vector<ImageRecord>> list() const;
  Result<void> record(const ImageRecord& image) const;
  // By canonical reference or manifest digest; returns the removed references.
  Result<std::vector<std::string>> forget(const std::string& ref_or_digest) const;
  // Resolves a reference or a manifest digest to its record.
  Result<std::optional<ImageRecord>> find(const std::string& canonical_ref_or_digest) const;

 private:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  Result<std::vector<ImageRecord>> load_index_locked() const;
  Result<void> save_index_locked(const std::vector<ImageRecord>& images) const;

  std::string root_;
};

// Writes `data` to `path` via a temp file in the same directory, fsync and rename.
Result<void> write_file_atomically(const std::string& path, std::string_view data);

}  // namespace voidbox::oci
