#include "virtio_devices.hpp"

#include "device_plugins.hpp"
#include "voidbox/virtio/plugin_device.hpp"
#include "vsock/vsock_device.hpp"

namespace voidbox::kvm {

Result<void> attach_virtio_devices(Vm& vm, const VmConfig& config) {
  if (auto r = vm.set_device_path(config.device_path); !r) return r;
  // Every VM gets vsock: it is the control channel to the guest agent.
  auto vsock = vsock::VsockDevice::create({.guest_cid = config.vsock_cid,
                                           .uds_path = vsock_socket_path(config),
                                           .limits = {},
                                           .queue_size = 256});
  if (!vsock) return fail("vsock device: " + vsock.error());
  if (auto r = vm.add_virtio_device(std::move(*vsock)); !r) return r;
  if (config.devices.empty()) return {};
  const DeviceFactories factories = load_device_plugins();
  for (const auto& d : config.devices) {
    const auto it = factories.find(d.type);
    if (it == factories.end()) {
      return fail("no device plugin provides \"" + d.type +
                  "\" (looked for libdevice-*.so in $VOIDBOX_PLUGIN_PATH and beside voidbox-vmm)");
    }
    auto device = voidbox::virtio::PluginDevice::create(it->second, d.config_json);
    if (!device) return fail("device \"" + d.type + "\": " + device.error());
    if (auto r = vm.add_virtio_device(std::move(*device)); !r) return r;
  }
  return {};
}

}  // namespace voidbox::kvm
