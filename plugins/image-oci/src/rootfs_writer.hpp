// Applies image layers, in order, to a root directory: tar entries with
// whiteouts, links, ownership and modes, confined to the root.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "confined_path.hpp"
#include "result.hpp"

namespace voidbox::oci {

struct UnpackReport {
  std::uint32_t layers = 0;
  std::uint64_t entries = 0;
  std::uint64_t whiteouts = 0;
  std::uint64_t skipped_devices = 0;
  std::uint64_t ownership_errors = 0;   // chown refused (unprivileged)
  std::uint64_t permission_errors = 0;  // chmod/utimes refused
  std::uint64_t xattr_errors = 0;
  std::uint64_t hardlink_copies = 0;  // link refused, content copied instead
  std::uint64_t content_bytes = 0;
  std::vector<std::string> compressions;  // per layer: gzip, zstd, none

  boost::json::object to_json() const;
};

enum class Compression { none, gzip, zstd };
// From the first bytes of the blob, whatever the media type says.
Compression detect_compression(const unsigned char* head, size_t size);

class RootfsWriter {
 public:
  static Result<RootfsWriter> open(const std::string& dest_dir);

  // Unpacks one layer blob, verifying its digest as it streams. Errors name
  // the layer and the entry.
  Result<void> apply_layer(const std::string& blob_path, const std::string& digest,
                           std::uint32_t index);
  // Applies directory modes and mtimes deferred so that unpacking can write
  // into read-only directories.
  Result<void> finish();

  const UnpackReport& report() const { return report_; }

 private:
  struct DirMeta {
    std::vector<std::string> parts;
    unsigned mode;
    std::int64_t mtime_sec;
    long mtime_nsec;
  };

  explicit RootfsWriter(ConfinedRoot root) : root_(std::move(root)) {}

  ConfinedRoot root_;
  UnpackReport report_;
  std::vector<DirMeta> dirs_;
};

}  // namespace voidbox::oci
