// `voidbox doctor`: can this host boot a VM, and if not, what to do about it.
// The host checks come from the VM backends themselves (their ABI 1.1
// diagnosis); doctor adds the guest kernel, initramfs and plugins.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/plugin/backend.hpp"

namespace voidbox::cli {

struct VerbContext;

struct PluginLoadResult {
  std::string path;
  std::string name;
  bool ok = false;
  std::string reason;  // why it failed to load; empty when ok
};

// One VM backend's diagnosis.
struct BackendReport {
  std::string backend;                // e.g. "kvm"
  std::vector<plugin::Check> checks;  // in the backend's order
  std::string error;                  // non-empty when diagnose itself failed
};

struct DoctorOptions {
  bool json = false;

  // Plugin scan results, filled by the verb from the plugin registry.
  std::vector<PluginLoadResult> plugins;
  bool plugins_scanned = false;
  // Whether a VM backend factory loaded; unset: not checked.
  std::optional<bool> vm_backend_loaded;
  // Asks every VM backend to diagnose this host for booting `kernel` (may be
  // empty). Unset: no backend checks.
  std::function<std::vector<BackendReport>(const std::string& kernel)> diagnose_backends;

  // Test hook. Unset: read the real environment.
  std::function<std::optional<std::string>(std::string_view)> getenv;
};

// Writes the report (human or JSON) to `out`. Returns 0 only when a VM can be
// booted here: no backend check failed, a guest kernel and initramfs found,
// and (when checked) a VM backend plugin loaded; else 1.
int run_doctor(const DoctorOptions& options, std::ostream& out);

// The `voidbox doctor [--output human|json]` verb: scans plugins, then runs
// the report above.
int run_doctor(VerbContext& ctx);

}  // namespace voidbox::cli
