#include "plugin/loaded_plugin.hpp"

#include <cstring>

#include "voidbox/sdk/error.hpp"

namespace voidbox::plugin::detail {
namespace {

constexpr std::size_t kMaxFactoryName = 128;

}  // namespace

LoadedPlugin::LoadedPlugin(boost::dll::shared_library library,
                           const vb_plugin_descriptor* descriptor, PluginInfo info,
                           std::shared_ptr<const LogSink> log)
    : library_(std::move(library)),
      descriptor_(descriptor),
      info_(std::move(info)),
      log_(std::move(log)),
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
    log(this, VB_LOG_WARN, "register_factory called outside init; ignored");
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
  if (self == nullptr || !self->log_ || !*self->log_) return;
  try {
    (*self->log_)(level, self->log_component_, message == nullptr ? "" : message);
  } catch (...) {
  }
}

}  // namespace voidbox::plugin::detail
