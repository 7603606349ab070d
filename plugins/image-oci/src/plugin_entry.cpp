// The C boundary of the image-oci plugin: every call catches everything and
// reports through vb_error.
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "image_service.hpp"
#include "voidbox/abi/image_source.h"
#include "voidbox/plugin_abi.h"

struct vb_image_source {
  std::unique_ptr<voidbox::oci::ImageService> service;
};

namespace {

using voidbox::oci::Error;

void set_error(vb_error* error, const std::string& message) {
  if (error == nullptr || error->message == nullptr || error->capacity == 0) return;
  std::snprintf(error->message, error->capacity, "%s", message.c_str());
}

vb_status report(vb_error* error, const Error& e) {
  set_error(error, e.message);
  return e.status == VB_OK ? VB_ERR_INTERNAL : e.status;
}

template <class F>
vb_status guarded(vb_error* error, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    set_error(error, std::string("image-oci internal error: ") + e.what());
  } catch (...) {
    set_error(error, "image-oci internal error");
  }
  return VB_ERR_INTERNAL;
}

vb_status deliver(voidbox::oci::Result<boost::json::object> result, vb_json_sink sink,
                  void* sink_ctx, vb_error* error) {
  if (!result) return report(error, result.error());
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
    if (out == nullptr) return set_error(error, "out is NULL"), VB_ERR_INVALID_ARGUMENT;
    auto config = voidbox::oci::parse_service_config(
        config_json ? std::string_view(config_json, config_len) : std::string_view{});
    if (!config) return report(error, config.error());
    auto service = voidbox::oci::ImageService::open(std::move(*config));
    if (!service) return report(error, service.error());
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
      return set_error(error, "pull: bad arguments"), VB_ERR_INVALID_ARGUMENT;
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
      return set_error(error, "unpack: bad arguments"), VB_ERR_INVALID_ARGUMENT;
    }
    return deliver(source->service->unpack(ref_or_digest, dest_dir), sink, sink_ctx, error);
  });
}

vb_status source_build_disk(vb_image_source* source, const char* ref_or_digest, vb_json_sink sink,
                            void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr || !valid_string(ref_or_digest)) {
      return set_error(error, "build_rootfs_disk: bad arguments"), VB_ERR_INVALID_ARGUMENT;
    }
    return deliver(source->service->build_rootfs_disk(ref_or_digest), sink, sink_ctx, error);
  });
}

vb_status source_list(vb_image_source* source, vb_json_sink sink, void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr) return set_error(error, "list: bad arguments"), VB_ERR_INVALID_ARGUMENT;
    return deliver(source->service->list(), sink, sink_ctx, error);
  });
}

vb_status source_remove(vb_image_source* source, const char* ref_or_digest, vb_json_sink sink,
                        void* sink_ctx, vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr || !valid_string(ref_or_digest)) {
      return set_error(error, "remove: bad arguments"), VB_ERR_INVALID_ARGUMENT;
    }
    return deliver(source->service->remove(ref_or_digest), sink, sink_ctx, error);
  });
}

vb_status source_prune(vb_image_source* source, vb_json_sink sink, void* sink_ctx,
                       vb_error* error) {
  return guarded(error, [&] {
    if (source == nullptr) return set_error(error, "prune: bad arguments"), VB_ERR_INVALID_ARGUMENT;
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

vb_status plugin_init(const vb_registrar* registrar, vb_error* error) {
  if (registrar == nullptr || registrar->register_factory == nullptr) {
    set_error(error, "image-oci: no registrar");
    return VB_ERR_INVALID_ARGUMENT;
  }
  vb_status status =
      registrar->register_factory(registrar->host_ctx, VB_KIND_IMAGE_SOURCE, "oci", &kVtable);
  if (status != VB_OK) set_error(error, "image-oci: could not register image source 'oci'");
  return status;
}

void plugin_shutdown() {}

const vb_plugin_descriptor kDescriptor = {
    sizeof(vb_plugin_descriptor),
    VOIDBOX_ABI_MAJOR,
    VOIDBOX_ABI_MINOR,
    "image-oci",
    "0.1.0",
    "OCI registry client, content-addressed image cache, layer unpacker, ext4 rootfs disks",
    plugin_init,
    plugin_shutdown,
};

}  // namespace

extern "C" VOIDBOX_PLUGIN_EXPORT const vb_plugin_descriptor* voidbox_plugin_entry(void) {
  return &kDescriptor;
}
