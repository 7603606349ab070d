// Finds device plugins (VB_KIND_DEVICE) for voidbox-vmm: loads the plugin
// libraries from $VOIDBOX_PLUGIN_PATH (colon list) and the plugin directory
// beside this executable (bin/ -> lib/voidbox/plugins in the build tree,
// libexec/voidbox/ -> lib/voidbox/plugins when installed), collecting the
// device factories they register. Libraries stay loaded for the process's
// lifetime (devices hold their vtables).
#pragma once

#include <map>
#include <string>

#include "result.hpp"
#include "voidbox/abi/device.h"

namespace voidbox::kvm {

using DeviceFactories = std::map<std::string, const vb_device_vtable*>;

// Problems with individual libraries go to stderr and are skipped.
DeviceFactories load_device_plugins();

}  // namespace voidbox::kvm
