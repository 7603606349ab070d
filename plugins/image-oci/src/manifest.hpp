// OCI / Docker v2 manifests and indexes (manifest lists), and platform choice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reference.hpp"
#include "result.hpp"

namespace voidbox::oci {

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media

inline constexpr size_t kMaxLayers = 1024;
inline constexpr std::uint64_t kMaxLayerBytes = 64ull << 30;

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  Platform platform;  // indexes only
  bool has_platform = false;
};

struct ImageIndex {
  std::vector<Descriptor> manifests;
};

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

enum class ManifestKind { index, manifest };

// From the body's mediaType, else the Content-Type, else the shape.
Result<ManifestKind> classify_manifest(std::string_view body, std::string_view content_type);
Result<ImageIndex> parse_index(std::string_view body);
Result<ImageManifest> parse_manifest(std::string_view body);

// Picks the manifest for `want`: os and architecture must match; a requested
// variant must match; without one, an entry without variant wins, then the first.
Result<Descriptor> select_platform(const ImageIndex& index, const Platform& want);

}  // namespace voidbox::oci
