#include "puller.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "digest.hpp"
#include "manifest.hpp"

namespace voidbox::oci {
namespace {

// Stores a manifest or config we just fetched (already digest-verified).
Result<void> keep(const BlobStore& store, const std::string& digest, const std::string& body) {
  return store.put(digest, body);
}

Result<std::string> config_blob(const BlobStore& store, RegistryClient& client,
                                const Descriptor& config) {
  if (config.size > kMaxConfigBytes) {
    return fail(VB_ERR_IO, "image config " + config.digest + " is larger than 8 MiB");
  }
  if (auto cached = store.read(config.digest, kMaxConfigBytes); cached) return cached;
  auto body = client.fetch_small_blob(config.digest, kMaxConfigBytes);
  if (!body) return body;
  if (body->size() != config.size) {
    return fail(VB_ERR_IO, "image config " + config.digest + " size differs from its descriptor");
  }
  if (auto kept = keep(store, config.digest, *body); !kept) return std::unexpected(kept.error());
  return body;
}

}  // namespace

Result<PullResult> pull_image(const BlobStore& store, const Reference& ref,
                              const PullOptions& options) {
  auto client = RegistryClient::create(ref, options.client);
  if (!client) return std::unexpected(client.error());
  RegistryClient& registry = **client;

  PullResult result;
  ImageRecord& image = result.image;
  image.reference = ref.canonical();

  auto top = registry.fetch_manifest(ref.manifest_reference());
  if (!top) return std::unexpected(top.error());
  auto kind = classify_manifest(top->body, top->media_type);
  if (!kind) return std::unexpected(kind.error());

  FetchedManifest manifest_fetched = *top;
  if (*kind == ManifestKind::index) {
    auto index = parse_index(top->body);
    if (!index) return std::unexpected(index.error());
    auto chosen = select_platform(*index, options.platform);
    if (!chosen) return std::unexpected(chosen.error());
    if (auto kept = keep(store, top->digest, top->body); !kept)
      return std::unexpected(kept.error());
    image.index_digest = top->digest;
    auto platform_manifest = registry.fetch_manifest(chosen->digest);
    if (!platform_manifest) return std::unexpected(platform_manifest.error());
    manifest_fetched = std::move(*platform_manifest);
    auto inner = classify_manifest(manifest_fetched.body, manifest_fetched.media_type);
    if (!inner) return std::unexpected(inner.error());
    if (*inner != ManifestKind::manifest) {
      return fail(VB_ERR_UNSUPPORTED, "nested image indexes are not supported");
    }
  }
  auto manifest = parse_manifest(manifest_fetched.body);
  if (!manifest) return std::unexpected(manifest.error());
  if (auto kept = keep(store, manifest_fetched.digest, manifest_fetched.body); !kept) {
    return std::unexpected(kept.error());
  }
  image.manifest_digest = manifest_fetched.digest;
  image.config_digest = manifest->config.digest;

  auto config_text = config_blob(store, registry, manifest->config);
  if (!config_text) return std::unexpected(config_text.error());
  boost::system::error_code ec;
  result.config = boost::json::parse(*config_text, ec);
  if (ec || !result.config.is_object()) return fail(VB_ERR_IO, "image config is not a JSON object");
  {
    const auto& c = result.config.as_object();
    auto field = [&](const char* key) {
      const auto* v = c.if_contains(key);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    Platform actual{field("os"), field("architecture"), field("variant")};
    image.platform =
        actual.architecture.empty() ? options.platform.to_string() : actual.to_string();
  }

  for (const auto& layer : manifest->layers) {
    image.layers.push_back({layer.digest, layer.size, layer.media_type});
  }

  // Layers: a bounded pool of workers, each taking the next layer.
  const auto layer_count = static_cast<std::uint32_t>(image.layers.size());
  std::atomic<bool> cancelled{false};
  std::atomic<std::uint32_t> next{0};
  std::mutex mutex;  // guards first_error, totals and progress calls
  std::optional<Error> first_error;
  auto report = [&](std::uint32_t index, const BlobProgress& p) {
    if (!options.progress) return;
    std::lock_guard lock(mutex);
    vb_image_progress out{sizeof(vb_image_progress),
                          image.layers[index].digest.c_str(),
                          index,
                          layer_count,
                          p.done,
                          p.total,
                          p.state};
    if (!options.progress(out)) cancelled = true;
  };
  auto worker = [&] {
    for (;;) {
      std::uint32_t i = next++;
      if (i >= layer_count || cancelled) return;
      const auto& layer = image.layers[i];
      auto outcome = download_blob(store, registry, layer.digest, layer.size, cancelled,
                                   [&](const BlobProgress& p) { report(i, p); });
      std::lock_guard lock(mutex);
      if (!outcome) {
        if (!first_error) first_error = outcome.error();
        cancelled = true;
        return;
      }
      result.downloaded_bytes += outcome->downloaded;
      result.resumed_bytes += outcome->resumed_from;
      if (outcome->was_cached) ++result.cached_layers;
    }
  };
  for (std::uint32_t i = 0; i < layer_count; ++i) {
    report(i, {0, image.layers[i].size, VB_IMAGE_PROGRESS_WAITING});
  }
  const int workers =
      std::max(1, std::min<int>(options.max_concurrent_downloads, static_cast<int>(layer_count)));
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (first_error) return std::unexpected(*first_error);
  if (cancelled) return fail(VB_ERR_IO, "cancelled");

  image.pulled_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  if (auto recorded = store.record(image); !recorded) return std::unexpected(recorded.error());
  return result;
}

}  // namespace voidbox::oci
