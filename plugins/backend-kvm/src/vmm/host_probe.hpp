// What this host's /dev/kvm can run, for voidbox-vmm and the plugin's
// probe/create; built on host/capabilities.hpp, the one place that knows.
//
// PVM ("kvm_pvm") serves the KVM API but runs only guest kernels built with
// CONFIG_PVM_GUEST; a stock kernel hangs silently right after its real-mode
// setup code. A kernel image does not say which it is (bzImage is
// compressed), so the rule is: on a PVM host, refuse unless the kernel's
// config (the `config` file fetch-kernel.sh stores next to it, or
// <kernel>.config) has CONFIG_PVM_GUEST=y, or VOIDBOX_ALLOW_PVM=1 is set.
#pragma once

#include <string>

#include "result.hpp"

namespace voidbox::kvm {

bool host_is_pvm();

// /dev/kvm opens, speaks API version 12 and has the capabilities the VMM needs.
Result<void> probe_kvm();

// Fails with the reason and remedy when `kernel_path` cannot boot on this host.
Result<void> check_kernel_runs_here(const std::string& kernel_path);

// True when the kernel's config declares CONFIG_PVM_GUEST=y.
bool kernel_is_pvm_guest(const std::string& kernel_path);

}  // namespace voidbox::kvm
