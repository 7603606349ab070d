// Attaches the VM's virtio devices: the in-process vsock device
// and device plugins named in the config's `devices`.
#pragma once

#include "result.hpp"
#include "vm.hpp"
#include "vm_config.hpp"

namespace voidbox::kvm {

Result<void> attach_virtio_devices(Vm& vm, const VmConfig& config);

}  // namespace voidbox::kvm
