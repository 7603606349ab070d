#include "host_probe.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string_view>

#include "unique_fd.hpp"

namespace voidbox::kvm {
namespace {

bool config_has_pvm_guest(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "CONFIG_PVM_GUEST=y") return true;
  }
  return false;
}

}  // namespace

bool host_is_pvm() {
  if (const char* forced = std::getenv("VOIDBOX_FAKE_PVM_HOST"); forced != nullptr) {
    return std::string_view(forced) == "1";
  }
  struct stat st {};
  return ::stat("/sys/module/kvm_pvm", &st) == 0;
}

Result<void> probe_kvm() {
  UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    return fail_errno("cannot open /dev/kvm (is KVM enabled and are you in the kvm group?)");
  }
  const int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return fail("/dev/kvm speaks KVM API version " + std::to_string(version) + ", not " +
                std::to_string(KVM_API_VERSION));
  }
  for (int cap : {KVM_CAP_IRQCHIP, KVM_CAP_USER_MEMORY, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_PIT2}) {
    if (::ioctl(fd.get(), KVM_CHECK_EXTENSION, cap) <= 0) {
      return fail("/dev/kvm lacks capability " + std::to_string(cap));
    }
  }
  return {};
}

bool kernel_is_pvm_guest(const std::string& kernel_path) {
  const auto slash = kernel_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : kernel_path.substr(0, slash);
  return config_has_pvm_guest(kernel_path + ".config") || config_has_pvm_guest(dir + "/config");
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
