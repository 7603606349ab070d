// Finds the voidbox-vmm executable: $VOIDBOX_VMM, then next to this plugin,
// then the install layout (lib/voidbox/plugins -> libexec/voidbox), then the
// build tree (lib/voidbox/plugins -> bin).
#pragma once

#include <string>

#include "vmm/result.hpp"

namespace voidbox::kvm {

Result<std::string> locate_vmm();

}  // namespace voidbox::kvm
