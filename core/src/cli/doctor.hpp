// `voidbox doctor`: can this host boot a VM, and if not, what to do about it.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/capabilities.hpp"

namespace voidbox::cli {

struct VerbContext;

struct PluginLoadResult {
  std::string path;
  std::string name;
  bool ok = false;
  std::string reason;  // why it failed to load; empty when ok
};

struct DoctorOptions {
  bool json = false;

  // Plugin scan results, filled by the verb from the plugin registry.
  std::vector<PluginLoadResult> plugins;
  bool plugins_scanned = false;
  // Whether a VM backend ("kvm") factory loaded; unset: not checked.
  std::optional<bool> vm_backend_loaded;

  // Test hooks. Unset: probe this host / read the real environment.
  std::optional<host::HostCapabilities> host;
  std::function<std::optional<std::string>(std::string_view)> getenv;
};

// Writes the report (human or JSON) to `out`. Returns 0 only when a VM can be
// booted here: usable KVM able to run the guest kernel, a guest kernel and
// initramfs found, and (when checked) a VM backend plugin loaded; else 1.
int run_doctor(const DoctorOptions& options, std::ostream& out);

// The `voidbox doctor [--output human|json]` verb: scans plugins, then runs
// the report above.
int run_doctor(VerbContext& ctx);

}  // namespace voidbox::cli
