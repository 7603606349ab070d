#include "manifest.hpp"

#include <boost/json.hpp>

#include "digest.hpp"

namespace voidbox::oci {
namespace {

Result<boost::json::object> parse_object(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) {
    return fail(VB_ERR_IO, std::string(what) + " is not a JSON object");
  }
  return std::move(value.as_object());
}

std::string get_string(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<Descriptor> parse_descriptor(const boost::json::value& value, std::string_view where) {
  auto bad = [&](std::string_view why) {
    return fail(VB_ERR_IO,
                "malformed descriptor in " + std::string(where) + ": " + std::string(why));
  };
  if (!value.is_object()) return bad("not an object");
  const auto& o = value.as_object();
  Descriptor d;
  d.media_type = get_string(o, "mediaType");
  d.digest = get_string(o, "digest");
  if (!is_valid_digest(d.digest))
    return bad("digest '" + d.digest.substr(0, 80) + "' is not sha256:<hex>");
  const auto* size = o.if_contains("size");
  if (size == nullptr) return bad("no size");
  if (size->is_uint64())
    d.size = size->as_uint64();
  else if (size->is_int64() && size->as_int64() >= 0)
    d.size = static_cast<std::uint64_t>(size->as_int64());
  else
    return bad("size is not a non-negative integer");
  if (d.size > kMaxLayerBytes) return bad("size above 64 GiB");
  if (const auto* p = o.if_contains("platform"); p && p->is_object()) {
    d.has_platform = true;
    d.platform.os = get_string(p->as_object(), "os");
    d.platform.architecture = get_string(p->as_object(), "architecture");
    d.platform.variant = get_string(p->as_object(), "variant");
  }
  return d;
}

}  // namespace

Result<ManifestKind> classify_manifest(std::string_view body, std::string_view content_type) {
  auto object = parse_object(body, "manifest");
  if (!object) return std::unexpected(object.error());
  std::string type = get_string(*object, "mediaType");
  if (type.empty()) type = std::string(content_type);
  if (type == media::kOciIndex || type == media::kDockerList) return ManifestKind::index;
  if (type == media::kOciManifest || type == media::kDockerManifest) return ManifestKind::manifest;
  if (const auto* schema = object->if_contains("schemaVersion");
      schema && schema->is_int64() && schema->as_int64() == 1) {
    return fail(VB_ERR_UNSUPPORTED, "Docker schema 1 manifests are not supported");
  }
  if (object->contains("manifests")) return ManifestKind::index;
  if (object->contains("layers")) return ManifestKind::manifest;
  return fail(VB_ERR_UNSUPPORTED, "unknown manifest type '" + type + "'");
}

Result<ImageIndex> parse_index(std::string_view body) {
  auto object = parse_object(body, "image index");
  if (!object) return std::unexpected(object.error());
  const auto* list = object->if_contains("manifests");
  if (list == nullptr || !list->is_array())
    return fail(VB_ERR_IO, "image index has no manifests array");
  if (list->as_array().size() > kMaxLayers)
    return fail(VB_ERR_IO, "image index has too many entries");
  ImageIndex index;
  for (const auto& entry : list->as_array()) {
    auto d = parse_descriptor(entry, "image index");
    if (!d) return std::unexpected(d.error());
    index.manifests.push_back(std::move(*d));
  }
  return index;
}

Result<ImageManifest> parse_manifest(std::string_view body) {
  auto object = parse_object(body, "image manifest");
  if (!object) return std::unexpected(object.error());
  const auto* config = object->if_contains("config");
  const auto* layers = object->if_contains("layers");
  if (config == nullptr || layers == nullptr || !layers->is_array()) {
    return fail(VB_ERR_IO, "image manifest lacks config or layers");
  }
  if (layers->as_array().size() > kMaxLayers)
    return fail(VB_ERR_IO, "image manifest has too many layers");
  ImageManifest manifest;
  auto c = parse_descriptor(*config, "manifest config");
  if (!c) return std::unexpected(c.error());
  manifest.config = std::move(*c);
  for (const auto& entry : layers->as_array()) {
    auto d = parse_descriptor(entry, "manifest layers");
    if (!d) return std::unexpected(d.error());
    // Layers are tar streams; which compression is decided from the bytes at
    // unpack time. Foreign (URL-only) and non-tar artifacts are refused here.
    if (d->media_type.find("tar") == std::string::npos) {
      return fail(VB_ERR_UNSUPPORTED,
                  "layer " + d->digest + " has unsupported media type '" + d->media_type + "'");
    }
    manifest.layers.push_back(std::move(*d));
  }
  return manifest;
}

Result<Descriptor> select_platform(const ImageIndex& index, const Platform& want) {
  const Descriptor* best = nullptr;
  for (const auto& d : index.manifests) {
    if (!d.has_platform || d.platform.os != want.os ||
        d.platform.architecture != want.architecture) {
      continue;
    }
    if (!want.variant.empty()) {
      if (d.platform.variant == want.variant) return d;
      continue;
    }
    if (d.platform.variant.empty()) return d;
    if (best == nullptr) best = &d;
  }
  if (best != nullptr) return *best;
  std::string available;
  for (const auto& d : index.manifests) {
    if (!d.has_platform || d.platform.os == "unknown") continue;  // attestations
    available += (available.empty() ? "" : ", ") + d.platform.to_string();
  }
  return fail(VB_ERR_NOT_FOUND, "no manifest for platform " + want.to_string() +
                                    " in the image index (available: " +
                                    (available.empty() ? "none" : available) + ")");
}

}  // namespace voidbox::oci
