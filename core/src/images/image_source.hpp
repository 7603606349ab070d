// The runtime's view of an image-source plugin (VB_KIND_IMAGE_SOURCE): pull,
// unpack, rootfs disks and cache maintenance, with results as JSON.
//
// The content-addressed cache lives in the plugin, not here: it is the
// plugin that fetches, verifies and locks blobs, so keeping the store next
// to that code keeps the format in one place and keeps libcurl, libarchive
// and OpenSSL out of libvoidbox. Core only deals in references, digests and
// paths.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "voidbox/abi/image_source.h"
#include "voidbox/plugin/error.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::images {

using plugin::Error;

struct PullProgress {
  std::string digest;
  std::uint32_t layer_index = 0;
  std::uint32_t layer_count = 0;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  vb_image_progress_state state = VB_IMAGE_PROGRESS_WAITING;
};

// Returns false to cancel the pull.
using ProgressFn = std::function<bool(const PullProgress&)>;

class ImageSource {
 public:
  // Creates an instance of the image source `name` ("oci") found in `registry`.
  // `config_json` is the plugin's create() config.
  static std::expected<std::unique_ptr<ImageSource>, Error> create(const plugin::Registry& registry,
                                                                   std::string_view name,
                                                                   std::string_view config_json);

  ~ImageSource();
  ImageSource(const ImageSource&) = delete;
  ImageSource& operator=(const ImageSource&) = delete;

  std::expected<boost::json::value, Error> pull(std::string_view ref, std::string_view options_json,
                                                const ProgressFn& progress);
  std::expected<boost::json::value, Error> unpack(std::string_view ref_or_digest,
                                                  std::string_view dest_dir);
  std::expected<boost::json::value, Error> build_rootfs_disk(std::string_view ref_or_digest);
  std::expected<boost::json::value, Error> list();
  std::expected<boost::json::value, Error> remove(std::string_view ref_or_digest);
  std::expected<boost::json::value, Error> prune();

 private:
  ImageSource(std::shared_ptr<const void> keep_alive, const vb_image_source_vtable* vtable,
              vb_image_source* handle);

  std::shared_ptr<const void> keep_alive_;
  const vb_image_source_vtable* vtable_;
  vb_image_source* handle_;
};

}  // namespace voidbox::images
