// The KVM backend's host checks, as `voidbox doctor` shows them: can
// /dev/kvm boot the guest kernel here (hardware KVM, or PVM with a PVM guest
// kernel), and what the host offers for vsock. Pure over HostCapabilities so
// every host kind is testable without root or KVM.
#pragma once

#include <string>
#include <vector>

#include "host/capabilities.hpp"
#include "voidbox/sdk/backend.hpp"

namespace voidbox::kvm::host {

// "kvm" then "vsock". `kernel` is the guest kernel a run would boot (may be
// empty); the "kvm" check's facts carry {"kvm": {...}, "cpu": {...}}, the
// "vsock" check's {"vsock": {...}}.
std::vector<voidbox::sdk::Check> diagnose_host(const HostCapabilities& caps,
                                               const std::string& kernel);

// True when the kernel's config (<kernel>.config, or "config" beside it as
// scripts/fetch-kernel.sh stores it) declares CONFIG_PVM_GUEST=y.
bool kernel_is_pvm_guest(const std::string& kernel);

}  // namespace voidbox::kvm::host
