// The guest's NIC: a virtio-net device plugin joined to a transport plugin
// through their frame ports (voidbox/abi/transport.h). The device itself goes
// onto the virtio-mmio bus like any other; the link keeps the transport and
// the wiring between the two.
//
// Ownership: the link owns the transport. It borrows the device, which the
// Vm owns once attached, so the link must be destroyed before the Vm (its
// destructor unhooks the device from the transport, then destroys the
// transport, while the device still exists).
#pragma once

#include <memory>
#include <string>

#include "device_plugins.hpp"
#include "result.hpp"
#include "vm_config.hpp"
#include "voidbox/abi/transport.h"
#include "voidbox/virtio/plugin_device.hpp"

namespace voidbox::kvm {

class NetworkLink {
 public:
  // Creates the device and the transport and wires them; nothing moves until
  // start(). The device is handed out once by take_device().
  static Result<std::unique_ptr<NetworkLink>> create(const NetworkConfig& config,
                                                     const DeviceFactories& factories);
  ~NetworkLink();
  NetworkLink(const NetworkLink&) = delete;
  NetworkLink& operator=(const NetworkLink&) = delete;

  std::unique_ptr<voidbox::virtio::PluginDevice> take_device() { return std::move(device_); }
  // The taken device was destroyed without ever running (attaching failed).
  void device_destroyed() { device_view_ = nullptr; }
  Result<void> start();
  // The transport's own JSON description (forwards, counters, denials).
  std::string describe() const;

 private:
  NetworkLink() = default;

  std::unique_ptr<voidbox::virtio::PluginDevice> device_;  // until take_device()
  voidbox::virtio::PluginDevice* device_view_ = nullptr;   // borrowed after take_device()
  const vb_transport_vtable* transport_vtable_ = nullptr;
  vb_transport* transport_ = nullptr;
};

}  // namespace voidbox::kvm
