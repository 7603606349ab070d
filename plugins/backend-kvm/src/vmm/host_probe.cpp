#include "host_probe.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "host/capabilities.hpp"
#include "host/diagnosis.hpp"

namespace voidbox::kvm {

bool host_is_pvm() {
  if (const char* forced = std::getenv("VOIDBOX_FAKE_PVM_HOST"); forced != nullptr) {
    return std::string_view(forced) == "1";
  }
  return host::classify_hypervisor(host::loaded_kvm_modules(), {}, false) ==
         host::HypervisorKind::pvm;
}

Result<void> probe_kvm() {
  host::ProbePaths paths;
  paths.probe_af_vsock = false;
  const host::HostCapabilities caps = host::probe_host(paths);
  const auto& kvm = caps.kvm;
  if (!kvm.openable) {
    return fail("cannot open /dev/kvm (is KVM enabled and are you in the kvm group?): " +
                std::string(std::strerror(kvm.open_errno)));
  }
  if (kvm.api_version != 12) {
    return fail("/dev/kvm speaks KVM API version " +
                (kvm.api_version ? std::to_string(*kvm.api_version) : std::string("(none)")) +
                ", not 12");
  }
  if (!kvm.missing_caps.empty()) return fail("/dev/kvm lacks " + kvm.missing_caps.front());
  return {};
}

bool kernel_is_pvm_guest(const std::string& kernel_path) {
  return host::kernel_is_pvm_guest(kernel_path);
}

Result<void> check_kernel_runs_here(const std::string& kernel_path) {
  if (!host_is_pvm()) return {};
  if (const char* allow = std::getenv("VOIDBOX_ALLOW_PVM");
      allow && std::string_view(allow) == "1") {
    return {};
  }
  if (kernel_is_pvm_guest(kernel_path)) return {};
  return fail(
      "this host's /dev/kvm is PVM (/sys/module/kvm_pvm), which runs only guest kernels built "
      "with CONFIG_PVM_GUEST=y; the kernel " +
      kernel_path +
      " does not declare it (no CONFIG_PVM_GUEST=y in its config) and would hang silently. Use a "
      "PVM guest kernel (with its config next to it), run inside the nested harness "
      "(scripts/vmtest.sh), or set VOIDBOX_ALLOW_PVM=1 to try anyway");
}

}  // namespace voidbox::kvm
