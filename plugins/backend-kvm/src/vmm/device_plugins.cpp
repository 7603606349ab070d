#include "device_plugins.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <vector>

#include "voidbox/plugin_abi.h"

namespace voidbox::kvm {
namespace {

struct Collector {
  DeviceFactories factories;
};

vb_status register_factory(void* ctx, vb_kind kind, const char* name, const void* vtable) {
  auto* c = static_cast<Collector*>(ctx);
  if (kind != VB_KIND_DEVICE || name == nullptr || vtable == nullptr) return VB_OK;
  if (c->factories.contains(name)) return VB_ERR_INVALID_ARGUMENT;
  c->factories.emplace(name, static_cast<const vb_device_vtable*>(vtable));
  return VB_OK;
}

void log_message(void*, vb_log_level level, const char* message) {
  if (level >= VB_LOG_WARN && message != nullptr)
    std::cerr << "voidbox-vmm: plugin: " << message << "\n";
}

std::vector<std::filesystem::path> plugin_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("VOIDBOX_PLUGIN_PATH"); env != nullptr) {
    std::stringstream ss(env);
    std::string d;
    while (std::getline(ss, d, ':')) {
      if (!d.empty()) dirs.emplace_back(d);
    }
  }
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / "../lib/voidbox/plugins");
    dirs.push_back(exe.parent_path() / "../../lib/voidbox/plugins");
  }
  return dirs;
}

}  // namespace

DeviceFactories load_device_plugins() {
  Collector collector;
  for (const auto& dir : plugin_dirs()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const auto name = entry.path().filename().string();
      // Device plugins only: the backend plugins would be loaded for nothing.
      if (!name.starts_with("libdevice-") || entry.path().extension() != ".so") continue;
      void* handle = ::dlopen(entry.path().c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        std::cerr << "voidbox-vmm: skipping " << entry.path() << ": " << ::dlerror() << "\n";
        continue;
      }
      auto fn = reinterpret_cast<vb_plugin_entry_fn>(::dlsym(handle, VOIDBOX_PLUGIN_ENTRY_SYMBOL));
      const vb_plugin_descriptor* d = fn != nullptr ? fn() : nullptr;
      if (d == nullptr || d->abi_major != VOIDBOX_ABI_MAJOR || d->abi_minor > VOIDBOX_ABI_MINOR ||
          d->init == nullptr) {
        std::cerr << "voidbox-vmm: skipping " << entry.path() << ": no compatible plugin entry\n";
        ::dlclose(handle);
        continue;
      }
      char msg[256] = {};
      vb_error err{sizeof(vb_error), msg, sizeof msg};
      vb_registrar reg{sizeof(vb_registrar), &collector,       VOIDBOX_ABI_MAJOR,
                       VOIDBOX_ABI_MINOR,    register_factory, log_message};
      if (d->init(&reg, &err) != VB_OK) {
        std::cerr << "voidbox-vmm: skipping " << entry.path() << ": init failed: " << msg << "\n";
      }
      // Never unloaded: registered vtables point into the library.
    }
  }
  return std::move(collector.factories);
}

}  // namespace voidbox::kvm
