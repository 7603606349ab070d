#include "virtio_devices.hpp"

#include "device_plugins.hpp"
#include "voidbox/virtio/plugin_device.hpp"
#include "vsock/vsock_device.hpp"

namespace voidbox::kvm {

Result<AttachedDevices> attach_virtio_devices(Vm& vm, const VmConfig& config) {
  if (auto r = vm.set_device_path(config.device_path); !r) return std::unexpected(r.error());
  // Every VM gets vsock: it is the control channel to the guest agent.
  auto vsock = vsock::VsockDevice::create({.guest_cid = config.vsock_cid,
                                           .uds_path = vsock_socket_path(config),
                                           .limits = {},
                                           .queue_size = 256});
  if (!vsock) return fail("vsock device: " + vsock.error());
  if (auto r = vm.add_virtio_device(std::move(*vsock)); !r) return std::unexpected(r.error());
  AttachedDevices attached;
  if (config.devices.empty() && !config.network.enabled) return attached;
  const DeviceFactories& factories = load_device_plugins();
  if (config.network.enabled) {
    auto link = NetworkLink::create(config.network, factories);
    if (!link) return std::unexpected(link.error());
    attached.network = std::move(*link);
    if (auto r = vm.add_virtio_device(attached.network->take_device()); !r) {
      attached.network->device_destroyed();
      return std::unexpected(r.error());
    }
  }
  for (const auto& d : config.devices) {
    const auto it = factories.find(d.type);
    if (it == factories.end()) {
      return fail("no device plugin provides \"" + d.type +
                  "\" (looked for libdevice-*.so in $VOIDBOX_PLUGIN_PATH and beside voidbox-vmm)");
    }
    auto device = voidbox::virtio::PluginDevice::create(it->second, d.config_json);
    if (!device) return fail("device \"" + d.type + "\": " + device.error());
    if (auto r = vm.add_virtio_device(std::move(*device)); !r) return std::unexpected(r.error());
  }
  if (attached.network) {
    if (auto r = attached.network->start(); !r) return std::unexpected(r.error());
  }
  return attached;
}

}  // namespace voidbox::kvm
