#include "plugin/loaded_plugin.hpp"

#include <cstring>

#include "voidbox/log.hpp"
#include "voidbox/sdk/error.hpp"

namespace voidbox::plugin::detail {
namespace {

constexpr std::size_t kMaxFactoryName = 128;

log::Level to_level(vb_log_level level) {
  switch (level) {
    case VB_LOG_TRACE:
      return log::Level::trace;
    case VB_LOG_DEBUG:
      return log::Level::debug;
    case VB_LOG_INFO:
      return log::Level::info;
    case VB_LOG_WARN:
      return log::Level::warn;
    case VB_LOG_ERROR:
      return log::Level::error;
  }
  return log::Level::info;
}

template <class Table>
bool all_set(const Table& table, auto... members) {
  return ((table.*members != nullptr) && ...);
}

}  // namespace

std::string vtable_rejection(vb_kind kind, const void* vtable) {
  if (vtable == nullptr) return "vtable is null";
  const std::size_t size = *static_cast<const std::size_t*>(vtable);
  if (size > 64 * 1024) return "vtable struct_size " + std::to_string(size) + " is implausible";
  switch (kind) {
    case VB_KIND_BACKEND: {
      constexpr std::size_t needed = offsetof(vb_backend_vtable, destroy) + sizeof(void*);
      if (size < needed) {
        return "backend vtable struct_size " + std::to_string(size) + " < " +
               std::to_string(needed);
      }
      const auto& t = *static_cast<const vb_backend_vtable*>(vtable);
      if (!all_set(t, &vb_backend_vtable::probe, &vb_backend_vtable::create,
                   &vb_backend_vtable::start, &vb_backend_vtable::connect, &vb_backend_vtable::wait,
                   &vb_backend_vtable::stop, &vb_backend_vtable::destroy)) {
        return "backend vtable has a null function";
      }
      return "";
    }
    case VB_KIND_EXPORTER: {
      constexpr std::size_t needed = offsetof(vb_exporter_vtable, destroy) + sizeof(void*);
      if (size < needed) {
        return "exporter vtable struct_size " + std::to_string(size) + " < " +
               std::to_string(needed);
      }
      const auto& t = *static_cast<const vb_exporter_vtable*>(vtable);
      if (!all_set(t, &vb_exporter_vtable::create, &vb_exporter_vtable::export_record,
                   &vb_exporter_vtable::flush, &vb_exporter_vtable::destroy)) {
        return "exporter vtable has a null function";
      }
      return "";
    }
    case VB_KIND_DEVICE:
    case VB_KIND_TRANSPORT:
    case VB_KIND_SKILL:
    case VB_KIND_IMAGE_SOURCE:
      // Their wrappers check the kind-specific layout; here only that the
      // table has room for at least one function.
      if (size < sizeof(std::size_t) + sizeof(void*)) return "vtable struct_size too small";
      return "";
  }
  return "unknown kind " + std::to_string(static_cast<int>(kind));
}

LoadedPlugin::LoadedPlugin(boost::dll::shared_library library,
                           const vb_plugin_descriptor* descriptor, PluginInfo info)
    : library_(std::move(library)),
      descriptor_(descriptor),
      info_(std::move(info)),
      log_component_("plugin:" + info_.name) {}

LoadedPlugin::~LoadedPlugin() {
  if (initialized_ && descriptor_->shutdown != nullptr) descriptor_->shutdown();
}

std::string LoadedPlugin::initialize(const NameCheck& name_taken) {
  vb_registrar registrar{};
  registrar.struct_size = sizeof registrar;
  registrar.host_ctx = this;
  registrar.host_abi_major = VOIDBOX_ABI_MAJOR;
  registrar.host_abi_minor = VOIDBOX_ABI_MINOR;
  registrar.register_factory = &LoadedPlugin::register_factory;
  registrar.log = &LoadedPlugin::log;

  voidbox::sdk::ErrorBuffer error;
  accepting_ = true;
  name_taken_ = &name_taken;
  const vb_status status = descriptor_->init(&registrar, error.get());
  accepting_ = false;
  name_taken_ = nullptr;
  if (status != VB_OK) {
    staged_.clear();
    rejections_.clear();
    return "init failed (" + std::string(voidbox::sdk::status_name(status)) +
           "): " + std::string(error.message().empty() ? "no message" : error.message());
  }
  initialized_ = true;
  return "";
}

vb_status LoadedPlugin::register_factory(void* ctx, vb_kind kind, const char* name,
                                         const void* vtable) {
  try {
    return static_cast<LoadedPlugin*>(ctx)->accept(kind, name, vtable);
  } catch (...) {
    return VB_ERR_INTERNAL;
  }
}

vb_status LoadedPlugin::accept(vb_kind kind, const char* name, const void* vtable) {
  if (!accepting_) {
    VB_LOG_TO(warn, log_component_) << "register_factory called outside init; ignored";
    return VB_ERR_INVALID_ARGUMENT;
  }
  const std::size_t length = name == nullptr ? 0 : ::strnlen(name, kMaxFactoryName + 1);
  if (length == 0 || length > kMaxFactoryName) {
    rejections_.push_back("factory with an empty or over-long name rejected");
    return VB_ERR_INVALID_ARGUMENT;
  }
  std::string factory(name, length);
  std::string label = std::string(kind_name(kind)) + " '" + factory + "'";
  if (std::string why = vtable_rejection(kind, vtable); !why.empty()) {
    rejections_.push_back(label + " rejected: " + why);
    return VB_ERR_INVALID_ARGUMENT;
  }
  std::string taken = (*name_taken_)(kind, factory);
  for (const auto& staged : staged_) {
    if (staged.kind == kind && staged.name == factory) taken = "registered twice by this plugin";
  }
  if (!taken.empty()) {
    rejections_.push_back("duplicate factory " + label + ": " + taken);
    return VB_ERR_INVALID_ARGUMENT;
  }
  staged_.push_back({kind, std::move(factory), vtable});
  return VB_OK;
}

void LoadedPlugin::log(void* ctx, vb_log_level level, const char* message) {
  const auto* self = static_cast<const LoadedPlugin*>(ctx);
  if (self == nullptr || !log::enabled(to_level(level))) return;
  log::write(to_level(level), self->log_component_, message == nullptr ? "" : message);
}

}  // namespace voidbox::plugin::detail
