#include "oci_layout.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "digest.hpp"
#include "process.hpp"

namespace voidbox::oci_test {

namespace json = boost::json;

OciLayout::OciLayout(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_ + "/blobs/sha256");
  std::ofstream(dir_ + "/oci-layout") << R"({"imageLayoutVersion":"1.0.0"})";
}

Descriptor OciLayout::add_blob(const std::string& data, const std::string& media_type) {
  std::string digest = voidbox::oci::sha256_of(data);
  std::ofstream(dir_ + "/blobs/sha256/" + digest.substr(7), std::ios::binary) << data;
  return {media_type, digest, data.size()};
}

static json::object descriptor_json(const Descriptor& d) {
  return {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

Descriptor OciLayout::add_image(const std::vector<Layer>& layers, const std::string& arch,
                                const std::string& variant) {
  json::array diff_ids, layer_descs;
  for (const auto& layer : layers) {
    diff_ids.push_back(json::value(voidbox::oci::sha256_of(layer.diff)));
    layer_descs.push_back(descriptor_json(add_blob(layer.blob, layer.media_type)));
  }
  json::object config{{"architecture", arch},
                      {"os", "linux"},
                      {"config", json::object{{"Cmd", json::array{"/bin/sh"}}}},
                      {"rootfs", json::object{{"type", "layers"}, {"diff_ids", diff_ids}}}};
  if (!variant.empty()) config["variant"] = variant;
  Descriptor config_desc =
      add_blob(json::serialize(config), "application/vnd.oci.image.config.v1+json");
  json::object manifest{{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                        {"config", descriptor_json(config_desc)},
                        {"layers", layer_descs}};
  return add_blob(json::serialize(manifest), "application/vnd.oci.image.manifest.v1+json");
}

Descriptor OciLayout::add_index(
    const std::vector<std::pair<Descriptor, std::string>>& manifests_and_arch) {
  json::array manifests;
  for (const auto& [desc, arch] : manifests_and_arch) {
    json::object entry = descriptor_json(desc);
    json::object platform{{"os", "linux"}, {"architecture", arch}};
    if (arch == "arm64") platform["variant"] = "v8";
    entry["platform"] = platform;
    manifests.push_back(entry);
  }
  json::object index{{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.index.v1+json"},
                     {"manifests", manifests}};
  return add_blob(json::serialize(index), "application/vnd.oci.image.index.v1+json");
}

void OciLayout::tag(const std::string& tag, const Descriptor& target) {
  tags_.emplace_back(tag, target);
  json::array manifests;
  for (const auto& [name, desc] : tags_) {
    json::object entry = descriptor_json(desc);
    entry["annotations"] = json::object{{"org.opencontainers.image.ref.name", name}};
    manifests.push_back(entry);
  }
  json::object index{{"schemaVersion", 2}, {"manifests", manifests}};
  std::ofstream(dir_ + "/index.json") << json::serialize(index);
}

std::string push(const std::string& layout, const std::string& tag, const std::string& dest,
                 const std::string& creds, bool all) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--quiet",
                                   "--dest-tls-verify=false"};
  if (all) argv.push_back("--all");
  if (!creds.empty()) argv.insert(argv.end(), {"--dest-creds", creds});
  argv.push_back("oci:" + layout + ":" + tag);
  argv.push_back("docker://" + dest);
  auto result = run(argv);
  return result.exit_code == 0 ? "" : "skopeo copy to " + dest + " failed: " + result.err;
}

}  // namespace voidbox::oci_test
