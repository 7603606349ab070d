// The operations behind the image-source vtable, in C++: each returns the
// JSON result the ABI documents.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "blob_store.hpp"
#include "reference.hpp"
#include "result.hpp"
#include "voidbox/abi/image_source.h"

namespace voidbox::oci {

struct ServiceConfig {
  std::string cache_dir;
  Platform platform;
  std::vector<std::string> insecure_registries;
  int max_concurrent_downloads = 4;
  std::string docker_config;
};

Result<ServiceConfig> parse_service_config(std::string_view json);

class ImageService {
 public:
  static Result<ImageService> open(ServiceConfig config);

  using Progress = std::function<bool(const vb_image_progress&)>;
  Result<boost::json::object> pull(const std::string& ref, std::string_view options_json,
                                   const Progress& progress);
  Result<boost::json::object> unpack(const std::string& ref_or_digest, const std::string& dest);
  Result<boost::json::object> build_rootfs_disk(const std::string& ref_or_digest);
  Result<boost::json::object> list();
  Result<boost::json::object> remove(const std::string& ref_or_digest);
  Result<boost::json::object> prune();

 private:
  ImageService(ServiceConfig config, BlobStore store)
      : config_(std::move(config)), store_(std::move(store)) {}
  Result<ImageRecord> resolve(const std::string& ref_or_digest);
  Result<boost::json::object> unpack_locked(const ImageRecord& image, const std::string& dest);

  ServiceConfig config_;
  BlobStore store_;
};

}  // namespace voidbox::oci
