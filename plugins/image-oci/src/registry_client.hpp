// The OCI distribution API of one repository: manifests and blobs, with
// anonymous, basic and bearer-token authentication and retries.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth.hpp"
#include "http.hpp"
#include "reference.hpp"
#include "result.hpp"

namespace voidbox::oci {

inline constexpr size_t kMaxManifestBytes = 4 << 20;
inline constexpr size_t kMaxConfigBytes = 8 << 20;
inline constexpr size_t kMaxTokenBytes = 1 << 20;

struct ClientOptions {
  std::vector<std::string> insecure_registries;
  std::string docker_config;  // empty: the usual places
};

struct FetchedManifest {
  std::string body;
  std::string media_type;
  std::string digest;  // sha256 of body, checked against the request when by digest
};

class RegistryClient {
 public:
  static Result<std::unique_ptr<RegistryClient>> create(const Reference& ref,
                                                        const ClientOptions& options);

  // `reference` is a tag or a digest of this repository.
  Result<FetchedManifest> fetch_manifest(std::string_view reference);
  // A small blob (image config) into memory, digest verified; retried.
  Result<std::string> fetch_small_blob(std::string_view digest, size_t max_bytes);
  // One attempt at streaming a blob from `offset`; a 2xx body goes to the sink.
  // The caller looks at the status (200 vs 206) and retries.
  Result<HttpResponse> fetch_blob_once(std::string_view digest, std::uint64_t offset,
                                       const BodySink& sink);

  const Reference& reference() const { return ref_; }

 private:
  RegistryClient(Reference ref, std::string base_url, std::optional<Credentials> credentials);

  Result<HttpResponse> get(const std::string& path, std::vector<std::string> headers,
                           std::uint64_t offset, size_t max_body, const BodySink& sink);
  Result<void> answer_challenge(const HttpResponse& unauthorized, const std::string& sent_auth);
  std::string current_auth();

  Reference ref_;
  std::string base_url_;  // "https://host[:port]"
  std::optional<Credentials> credentials_;
  std::mutex auth_mutex_;
  std::string auth_header_;  // "Authorization: ..." or empty
};

// Retries `attempt` on transport errors and 429/5xx statuses, with backoff.
Result<HttpResponse> with_retries(const std::function<Result<HttpResponse>()>& attempt,
                                  int max_attempts = 4);

bool is_retryable_status(long status);

}  // namespace voidbox::oci
