// Hand-made OCI image layouts (for images umoci will not make: multi-arch
// indexes, zstd layers, malicious layers), pushed with skopeo.
#pragma once

#include <string>
#include <vector>

namespace voidbox::oci_test {

struct Layer {
  std::string blob;  // as stored (compressed or not)
  std::string diff;  // uncompressed tar, for the config's diff_ids
  std::string media_type;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  size_t size = 0;
};

class OciLayout {
 public:
  explicit OciLayout(std::string dir);

  Descriptor add_blob(const std::string& data, const std::string& media_type);
  // An image manifest (and its config) for one platform.
  Descriptor add_image(const std::vector<Layer>& layers, const std::string& arch,
                       const std::string& variant = "");
  // An image index of platform manifests.
  Descriptor add_index(const std::vector<std::pair<Descriptor, std::string>>& manifests_and_arch);
  // Points the tag at a manifest or index in index.json.
  void tag(const std::string& tag, const Descriptor& target);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::pair<std::string, Descriptor>> tags_;
};

// skopeo copy oci:<layout>:<tag> docker://<host>/<name>:<tag>; returns skopeo's stderr on failure.
std::string push(const std::string& layout, const std::string& tag, const std::string& dest,
                 const std::string& creds = "", bool all = false);

}  // namespace voidbox::oci_test
