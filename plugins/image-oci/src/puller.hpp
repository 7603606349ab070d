// Pulls an image into the cache: resolve the reference (index -> platform
// manifest), store manifest and config, download layers concurrently, record
// the reference.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <string>

#include "blob_download.hpp"
#include "blob_store.hpp"
#include "reference.hpp"
#include "registry_client.hpp"

namespace voidbox::oci {

struct PullOptions {
  Platform platform;
  int max_concurrent_downloads = 4;
  ClientOptions client;
  // Serialised by the puller; returning false cancels.
  std::function<bool(const vb_image_progress&)> progress;
};

struct PullResult {
  ImageRecord image;
  boost::json::value config;
  std::uint64_t downloaded_bytes = 0;
  std::uint64_t resumed_bytes = 0;
  std::uint32_t cached_layers = 0;
};

Result<PullResult> pull_image(const BlobStore& store, const Reference& ref,
                              const PullOptions& options);

}  // namespace voidbox::oci
