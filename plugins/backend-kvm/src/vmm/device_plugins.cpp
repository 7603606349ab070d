#include "device_plugins.hpp"

#include <iostream>
#include <memory>

namespace voidbox::kvm {
namespace {

plugin::LoaderOptions vmm_loader_options() {
  plugin::LoaderOptions options;
  options.file_prefixes = {"libdevice-", "libnet-"};
  options.log = [](vb_log_level level, std::string_view component, std::string_view message) {
    if (level >= VB_LOG_WARN) std::cerr << "voidbox-vmm: " << component << ": " << message << "\n";
  };
  return options;
}

DeviceFactories collect(const plugin::Loader& loader) {
  DeviceFactories::Map by_type;
  DeviceFactories::TransportMap transports;
  for (const auto& factory : loader.factories()) {
    if (factory.kind == VB_KIND_DEVICE) {
      by_type.emplace(factory.name, static_cast<const vb_device_vtable*>(factory.vtable));
    } else if (factory.kind == VB_KIND_TRANSPORT) {
      transports.emplace(factory.name, static_cast<const vb_transport_vtable*>(factory.vtable));
    }
  }
  return DeviceFactories(std::move(by_type), std::move(transports), loader.failures());
}

}  // namespace

std::string_view installed_plugin_dir_from_vmm() noexcept {
  return VOIDBOX_VMM_PLUGIN_DIR;
}

const DeviceFactories& load_device_plugins() {
  // Never unloaded: device vtables point into the libraries, and the VMM
  // exits when its one VM ends.
  static const auto* loader = [] {
    auto* l = new plugin::Loader(vmm_loader_options());
    l->load_default(installed_plugin_dir_from_vmm());
    return l;
  }();
  static const DeviceFactories factories = collect(*loader);
  return factories;
}

DeviceFactories load_device_plugins_from(const std::vector<std::string>& dirs) {
  static std::vector<std::unique_ptr<plugin::Loader>> kept;  // same lifetime rule
  auto loader = std::make_unique<plugin::Loader>(vmm_loader_options());
  for (const auto& dir : dirs) loader->load_directory(dir);
  DeviceFactories factories = collect(*loader);
  kept.push_back(std::move(loader));
  return factories;
}

}  // namespace voidbox::kvm
