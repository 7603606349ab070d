#include "images/image_source.hpp"

#include <boost/json.hpp>
#include <cstddef>
#include <string>

namespace voidbox::images {
namespace {

constexpr size_t kErrorCapacity = 2048;

struct ErrorBuffer {
  char text[kErrorCapacity] = {};
  vb_error error{sizeof(vb_error), text, kErrorCapacity};
};

struct JsonCapture {
  std::string text;
  bool called = false;
  static void sink(void* ctx, const char* json, size_t len) {
    auto* self = static_cast<JsonCapture*>(ctx);
    self->text.assign(json, len);
    self->called = true;
  }
};

std::expected<boost::json::value, Error> finish(vb_status status, const ErrorBuffer& error,
                                                const JsonCapture& capture, std::string_view what) {
  if (status != VB_OK) {
    std::string message =
        error.text[0] != '\0' ? error.text : "image source " + std::string(what) + " failed";
    return std::unexpected(Error{status, std::move(message)});
  }
  if (!capture.called) return boost::json::value(boost::json::object());
  boost::system::error_code ec;
  auto value = boost::json::parse(capture.text, ec);
  if (ec) {
    return std::unexpected(
        Error{VB_ERR_INTERNAL, "image source " + std::string(what) + " returned invalid JSON"});
  }
  return value;
}

struct ProgressBridge {
  const ProgressFn* fn;
  static int call(void* ctx, const vb_image_progress* p) {
    auto* self = static_cast<ProgressBridge*>(ctx);
    if (p == nullptr || p->struct_size < offsetof(vb_image_progress, state) + sizeof(p->state)) {
      return 0;
    }
    PullProgress progress{p->digest ? p->digest : "",
                          p->layer_index,
                          p->layer_count,
                          p->bytes_done,
                          p->bytes_total,
                          p->state};
    try {
      return (*self->fn)(progress) ? 0 : 1;
    } catch (...) {
      return 1;  // never let an exception cross back into the plugin
    }
  }
};

}  // namespace

std::expected<std::unique_ptr<ImageSource>, Error> ImageSource::create(
    const plugin::Registry& registry, std::string_view name, std::string_view config_json) {
  auto factory = registry.find(VB_KIND_IMAGE_SOURCE, name);
  if (!factory) {
    return std::unexpected(
        Error{VB_ERR_NOT_FOUND, "no image source plugin named '" + std::string(name) +
                                    "' is loaded (is libimage-oci.so installed? see "
                                    "`voidbox plugins list`)"});
  }
  const auto* vtable = static_cast<const vb_image_source_vtable*>(factory->vtable);
  if (vtable == nullptr || vtable->struct_size < sizeof(vb_image_source_vtable) ||
      vtable->create == nullptr || vtable->destroy == nullptr) {
    return std::unexpected(Error{
        VB_ERR_UNSUPPORTED, "image source '" + std::string(name) + "' has an incomplete vtable"});
  }
  ErrorBuffer error;
  vb_image_source* handle = nullptr;
  vb_status status = vtable->create(config_json.data(), config_json.size(), &handle, &error.error);
  if (status != VB_OK || handle == nullptr) {
    return std::unexpected(Error{status == VB_OK ? VB_ERR_INTERNAL : status,
                                 error.text[0] ? error.text : "image source create failed"});
  }
  return std::unique_ptr<ImageSource>(new ImageSource(factory->keep_alive, vtable, handle));
}

ImageSource::ImageSource(std::shared_ptr<const void> keep_alive,
                         const vb_image_source_vtable* vtable, vb_image_source* handle)
    : keep_alive_(std::move(keep_alive)), vtable_(vtable), handle_(handle) {}

ImageSource::~ImageSource() {
  vtable_->destroy(handle_);
}

std::expected<boost::json::value, Error> ImageSource::pull(std::string_view ref,
                                                           std::string_view options_json,
                                                           const ProgressFn& progress) {
  ErrorBuffer error;
  JsonCapture capture;
  ProgressBridge bridge{&progress};
  std::string ref_text(ref);
  vb_status status = vtable_->pull(handle_, ref_text.c_str(), options_json.data(),
                                   options_json.size(), progress ? &ProgressBridge::call : nullptr,
                                   &bridge, &JsonCapture::sink, &capture, &error.error);
  return finish(status, error, capture, "pull");
}

std::expected<boost::json::value, Error> ImageSource::unpack(std::string_view ref_or_digest,
                                                             std::string_view dest_dir) {
  ErrorBuffer error;
  JsonCapture capture;
  std::string ref(ref_or_digest), dest(dest_dir);
  vb_status status = vtable_->unpack(handle_, ref.c_str(), dest.c_str(), &JsonCapture::sink,
                                     &capture, &error.error);
  return finish(status, error, capture, "unpack");
}

std::expected<boost::json::value, Error> ImageSource::build_rootfs_disk(
    std::string_view ref_or_digest) {
  ErrorBuffer error;
  JsonCapture capture;
  std::string ref(ref_or_digest);
  vb_status status =
      vtable_->build_rootfs_disk(handle_, ref.c_str(), &JsonCapture::sink, &capture, &error.error);
  return finish(status, error, capture, "disk build");
}

std::expected<boost::json::value, Error> ImageSource::list() {
  ErrorBuffer error;
  JsonCapture capture;
  vb_status status = vtable_->list(handle_, &JsonCapture::sink, &capture, &error.error);
  return finish(status, error, capture, "list");
}

std::expected<boost::json::value, Error> ImageSource::remove(std::string_view ref_or_digest) {
  ErrorBuffer error;
  JsonCapture capture;
  std::string ref(ref_or_digest);
  vb_status status =
      vtable_->remove(handle_, ref.c_str(), &JsonCapture::sink, &capture, &error.error);
  return finish(status, error, capture, "remove");
}

std::expected<boost::json::value, Error> ImageSource::prune() {
  ErrorBuffer error;
  JsonCapture capture;
  vb_status status = vtable_->prune(handle_, &JsonCapture::sink, &capture, &error.error);
  return finish(status, error, capture, "prune");
}

}  // namespace voidbox::images
