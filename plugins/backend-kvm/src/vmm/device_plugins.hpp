// Device plugins (VB_KIND_DEVICE) and network transports (VB_KIND_TRANSPORT)
// for voidbox-vmm, found and checked by the same loader as the runtime's
// (voidbox/plugin/loader.hpp): the same search folders, and the same ELF,
// ABI, name and vtable checks with the same reasons. Only libdevice-*.so and
// libnet-*.so files are opened; a refused library is
// reported and skipped, so a VM that does not need it still boots. Libraries
// stay loaded for the process's lifetime (devices hold their vtables).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"
#include "voidbox/abi/device.h"
#include "voidbox/abi/transport.h"
#include "voidbox/plugin/loader.hpp"

namespace voidbox::kvm {

class DeviceFactories {
 public:
  using Map = std::map<std::string, const vb_device_vtable*>;
  using TransportMap = std::map<std::string, const vb_transport_vtable*>;

  DeviceFactories(Map by_type, TransportMap transports, std::vector<plugin::LoadFailure> refused)
      : by_type_(std::move(by_type)),
        transports_(std::move(transports)),
        refused_(std::move(refused)) {}

  Map::const_iterator find(const std::string& type) const { return by_type_.find(type); }
  Map::const_iterator end() const { return by_type_.end(); }
  // nullptr when no loaded plugin provides transport `name`.
  const vb_transport_vtable* find_transport(const std::string& name) const {
    const auto it = transports_.find(name);
    return it == transports_.end() ? nullptr : it->second;
  }
  // Every library the loader refused, with its reason.
  const std::vector<plugin::LoadFailure>& refused() const noexcept { return refused_; }

 private:
  Map by_type_;
  TransportMap transports_;
  std::vector<plugin::LoadFailure> refused_;
};

// Where the installed plugin directory lies relative to voidbox-vmm's own.
std::string_view installed_plugin_dir_from_vmm() noexcept;

// Loads the device plugins once per process; each refusal also goes to
// stderr (the VMM's log) with its path and reason.
const DeviceFactories& load_device_plugins();

// The same, from an explicit list of directories, for tests.
DeviceFactories load_device_plugins_from(const std::vector<std::string>& dirs);

}  // namespace voidbox::kvm
