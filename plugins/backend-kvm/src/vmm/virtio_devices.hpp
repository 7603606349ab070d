// Attaches the VM's virtio devices: the in-process vsock device, the NIC
// when the config asks for a network, and device plugins named in the
// config's `devices`.
#pragma once

#include <memory>

#include "network_link.hpp"
#include "result.hpp"
#include "vm.hpp"
#include "vm_config.hpp"

namespace voidbox::kvm {

// What outlives attaching. Destroy it before the Vm (see network_link.hpp).
struct AttachedDevices {
  std::unique_ptr<NetworkLink> network;  // null without a network
};

Result<AttachedDevices> attach_virtio_devices(Vm& vm, const VmConfig& config);

}  // namespace voidbox::kvm
