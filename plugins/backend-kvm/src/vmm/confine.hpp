// Confines voidbox-vmm once the VM is set up: no new privileges, and a
// seccomp allowlist (libseccomp) applied to every thread (TSYNC), so a guest
// that subverts a device model can make only the system calls a running VM
// needs. VOIDBOX_VMM_SECCOMP=log logs instead of killing (for debugging a
// missing entry); =off disables the filter.
#pragma once

#include "result.hpp"

namespace voidbox::kvm {

// file_shares: the VM has host directory shares, whose server opens files.
Result<void> confine_process(bool file_shares);

}  // namespace voidbox::kvm
