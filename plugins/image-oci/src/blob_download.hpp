// Fetches one blob into the cache: locked against other processes, resumed
// from a partial file with an HTTP Range request, verified, renamed in.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "blob_store.hpp"
#include "registry_client.hpp"
#include "voidbox/abi/image_source.h"

namespace voidbox::oci {

struct BlobProgress {
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  vb_image_progress_state state = VB_IMAGE_PROGRESS_WAITING;
};

struct DownloadOutcome {
  bool was_cached = false;
  std::uint64_t resumed_from = 0;  // bytes found in a partial file
  std::uint64_t downloaded = 0;    // bytes received over the network
};

using BlobProgressFn = std::function<void(const BlobProgress&)>;

Result<DownloadOutcome> download_blob(const BlobStore& store, RegistryClient& client,
                                      const std::string& digest, std::uint64_t size,
                                      const std::atomic<bool>& cancelled,
                                      const BlobProgressFn& progress);

}  // namespace voidbox::oci
