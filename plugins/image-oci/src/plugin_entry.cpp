// The C boundary of the image-oci plugin: every call runs through the SDK's
// exception firewall and reports through vb_error.
#include <boost/json.hpp>
#include <cstring>
#include <memory>
#include <string>

#include "image_service.hpp"
#include "voidbox/abi/image_source.h"
#include "voidbox/sdk/all.hpp"

struct vb_image_source {
  std::unique_ptr<voidbox::oci::ImageService> service;
};

namespace {

using voidbox::sdk::fail;
using voidbox::sdk::Result;

vb_status bad_arguments(vb_error* error, const char* call) {
  voidbox::sdk::write_error(error, std::string(call) + ": bad arguments");
  return VB_ERR_INVALID_ARGUMENT;
}

// Runs `body` (returning vb_status, having written any message) behind the
// SDK's firewall.
template <class F>
vb_status guarded(vb_error* error, F&& body) {
  vb_status status = VB_OK;
  const vb_status caught = voidbox::sdk::guarded(error, [&]() -> Result<> {
    status = body();
    return {};
  });
  return caught != VB_OK ? caught : status;
}

vb_status deliver(Result<boost::json::object> result, vb_json_sink sink, void* sink_ctx,
                  vb_error* error) {
  if (!result) {
    voidbox::sdk::write_error(error, result.error().message);
    return result.error().status == VB_OK ? VB_ERR_INTERNAL : result.error().status;
  }
  if (sink != nullptr) {
    std::string text = boost::json::serialize(*result);
    sink(sink_ctx, text.data(), text.size());
  }
  return VB_OK;
}

bool valid_string(const char* s) {
  return s != nullptr && std::strlen(s) <= 4096;
}

vb_status source_create(const char* config_json, size_t config_len, vb_image_source** out,
                        vb_error* error) {
  return guarded(error, [&] {
    if (out == nullptr) return bad_arguments(error, "create");
    auto config = voidbox::oci::parse_service_config(
        config_json ? std::string_view(config_json, config_len) : std::string_view{});
    if (!config) return deliver(std::unexpected(config.error()), nullptr, nullptr, error);
    auto service = voidbox::oci::ImageService::open(std::move(*config));
    if (!service) return deliver(std::unexpected(service.error()), nullptr, nullptr, error);
    auto source = std::make_unique<vb_image_source>();
    source->service = std::make_unique<voidbox::oci::ImageService>(std::move(*service));
    *out = source.release();
    return VB_OK;
  });
}

vb_status source_pull(vb_image_source* source, const char* ref, const char* options_json,
                      size_t options_len, vb_image_progress_fn progress, void* progress_ctx,
                      vb_json_sink sink, void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr || !valid_string(ref)) {
      return bad_arguments(error, "pull");
    }
    voidbox::oci::ImageService::Progress on_progress;
    if (progress != nullptr) {
      on_progress = [=](const vb_image_progress& p) { return progress(progress_ctx, &p) == 0; };
    }
    return deliver(
        source->service->pull(ref, options_json ? std::string_view(options_json, options_len) : "",
                              on_progress),
        sink, sink_ctx, error);
  });
}

vb_status source_unpack(vb_image_source* source, const char* ref_or_digest, const char* dest_dir,
                        vb_json_sink sink, void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr || !valid_string(ref_or_digest) || !valid_string(dest_dir) ||
        *dest_dir == '\0') {
      return bad_arguments(error, "unpack");
    }
    return deliver(source->service->unpack(ref_or_digest, dest_dir), sink, sink_ctx, error);
  });
}

vb_status source_build_disk(vb_image_source* source, const char* ref_or_digest, vb_json_sink sink,
                            void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr || !valid_string(ref_or_digest)) {
      return bad_arguments(error, "build_rootfs_disk");
    }
    return deliver(source->service->build_rootfs_disk(ref_or_digest), sink, sink_ctx, error);
  });
}

vb_status source_list(vb_image_source* source, vb_json_sink sink, void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr) return bad_arguments(error, "list");
    return deliver(source->service->list(), sink, sink_ctx, error);
  });
}

vb_status source_remove(vb_image_source* source, const char* ref_or_digest, vb_json_sink sink,
                        void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr || !valid_string(ref_or_digest)) {
      return bad_arguments(error, "remove");
    }
    return deliver(source->service->remove(ref_or_digest), sink, sink_ctx, error);
  });
}

vb_status source_prune(vb_image_source* source, vb_json_sink sink, void* sink_ctx,
                       vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr) return bad_arguments(error, "prune");
    return deliver(source->service->prune(), sink, sink_ctx, error);
  });
}

void source_destroy(vb_image_source* source) {
  delete source;
}

const vb_image_source_vtable kVtable = {
    sizeof(vb_image_source_vtable),
    source_create,
    source_pull,
    source_unpack,
    source_build_disk,
    source_list,
    source_remove,
    source_prune,
    source_destroy,
};

Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_image_source("oci", &kVtable);
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN(
    "image-oci", "0.1.0",
    "OCI registry client, content-addressed image cache, layer unpacker, ext4 rootfs disks", init)
