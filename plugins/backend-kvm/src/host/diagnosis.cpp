#include "host/diagnosis.hpp"

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace voidbox::kvm::host {
namespace {

namespace fs = std::filesystem;
using voidbox::sdk::Check;

std::string errno_text(int err) {
  return std::strerror(err);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string hypervisor_text(const HostCapabilities& caps) {
  switch (caps.hypervisor) {
    case HypervisorKind::kvm_intel:
      return "hardware KVM, Intel VT-x (kvm_intel)";
    case HypervisorKind::kvm_amd:
      return "hardware KVM, AMD SVM (kvm_amd)";
    case HypervisorKind::pvm:
      return "PVM (kvm_pvm)";
    case HypervisorKind::kvm_unknown:
      return "KVM of unknown kind (no kvm_intel, kvm_amd or kvm_pvm module)";
    case HypervisorKind::none:
      return "no KVM";
  }
  return "no KVM";
}

constexpr const char* kNestedHint =
    "run VM work nested instead: scripts/vmtest.sh -- voidbox run --file SPEC "
    "(an emulated L1 VM whose KVM boots stock kernels; seconds slower per run)";

Check check_kvm(const HostCapabilities& caps, bool kernel_pvm_ok) {
  Check c{"kvm", VB_CHECK_FAIL, "", "", ""};
  const auto& kvm = caps.kvm;
  if (!kvm.present) {
    c.detail = "no /dev/kvm";
    if (caps.cpu.vmx) {
      c.remedy = "load KVM: modprobe kvm_intel (if it fails, enable VT-x in the firmware)";
    } else if (caps.cpu.svm) {
      c.remedy = "load KVM: modprobe kvm_amd (if it fails, enable AMD-V/SVM in the firmware)";
    } else if (caps.cpu.hypervisor) {
      c.remedy = std::string(
                     "this machine is a VM without nested virtualisation: enable it on "
                     "its host, or ") +
                 kNestedHint;
    } else {
      c.remedy =
          "enable hardware virtualisation (VT-x / AMD-V) in the firmware, then load "
          "kvm_intel or kvm_amd";
    }
    return c;
  }
  if (!kvm.openable) {
    c.detail = "cannot open /dev/kvm: " + errno_text(kvm.open_errno);
    if (kvm.open_errno == EACCES || kvm.open_errno == EPERM) {
      c.remedy =
          "add the user to the kvm group (usermod -aG kvm $USER, then log in again) or "
          "run as root";
    } else {
      c.remedy = "check dmesg for KVM errors";
    }
    return c;
  }
  if (kvm.api_version != 12) {
    c.detail = kvm.api_version ? "/dev/kvm speaks KVM API version " +
                                     std::to_string(*kvm.api_version) + ", not 12"
                               : std::string("/dev/kvm does not answer KVM_GET_API_VERSION");
    c.remedy = "use a Linux host kernel with standard KVM";
    return c;
  }
  if (!kvm.missing_caps.empty()) {
    c.detail = "/dev/kvm lacks";
    for (const auto& cap : kvm.missing_caps) c.detail += " " + cap;
    c.remedy = "use a newer host kernel";
    return c;
  }

  const std::string usable = "/dev/kvm usable (API 12): " + hypervisor_text(caps);
  if (caps.hardware_kvm()) {
    c.result = VB_CHECK_OK;
    c.detail = usable;
    return c;
  }
  if (caps.hypervisor == HypervisorKind::pvm) {
    if (kernel_pvm_ok) {
      c.result = VB_CHECK_OK;
      c.detail = usable + "; the guest kernel declares CONFIG_PVM_GUEST=y, which PVM runs";
      return c;
    }
    c.detail = usable +
               ". PVM runs only guest kernels built with CONFIG_PVM_GUEST=y; stock kernels "
               "(e.g. Debian's linux-image-amd64) hang silently right after the real-mode "
               "setup code";
    c.remedy = std::string(
                   "boot a PVM guest kernel (VOID_BOX_KERNEL, with its .config beside "
                   "it), or ") +
               kNestedHint;
    return c;
  }
  c.result = VB_CHECK_WARN;
  c.detail = usable + "; cannot tell whether it boots stock kernels";
  c.remedy = "if VMs hang at boot, " + std::string(kNestedHint);
  return c;
}

Check check_vsock(const HostCapabilities& caps) {
  const auto& v = caps.vsock;
  Check c{"vsock", VB_CHECK_OK, "", "", ""};
  std::string vhost;
  if (v.vhost_openable) {
    vhost = "/dev/vhost-vsock usable";
  } else if (v.vhost_present) {
    vhost = "/dev/vhost-vsock present but not openable (" + errno_text(v.vhost_open_errno) + ")";
    c.result = VB_CHECK_NOTE;
    c.remedy = "only tools using kernel vsock need it: run as root or grant access";
  } else {
    vhost = "no /dev/vhost-vsock";
    c.result = VB_CHECK_NOTE;
    c.remedy = "only tools using kernel vsock need it: modprobe vhost_vsock";
  }
  const std::string af = v.af_vsock ? "AF_VSOCK sockets supported"
                                    : "no AF_VSOCK sockets (" + errno_text(v.af_vsock_errno) + ")";
  c.detail = vhost + "; " + af +
             ". VoidBox's KVM backend brings its own vsock device, so VMs boot without them";
  return c;
}

std::string kvm_facts(const HostCapabilities& caps, bool kernel_pvm_ok) {
  boost::json::array missing;
  for (const auto& cap : caps.kvm.missing_caps) missing.emplace_back(cap);
  boost::json::value api = nullptr;
  if (caps.kvm.api_version) api = *caps.kvm.api_version;
  // "kvm" stays flat: scripts cut it out of the JSON with a regex.
  boost::json::object facts{
      {"kvm",
       {{"device", "/dev/kvm"},
        {"present", caps.kvm.present},
        {"openable", caps.kvm.openable},
        {"api_version", api},
        {"missing_caps", std::move(missing)},
        {"usable", caps.kvm.usable()},
        {"hypervisor", to_string(caps.hypervisor)},
        {"hardware_kvm", caps.hardware_kvm()},
        {"pvm", caps.hypervisor == HypervisorKind::pvm},
        {"boots_stock_kernels", caps.boots_stock_kernels()},
        {"kernel_pvm_guest", kernel_pvm_ok}}},
      {"cpu", {{"vmx", caps.cpu.vmx}, {"svm", caps.cpu.svm}, {"hypervisor", caps.cpu.hypervisor}}},
  };
  return boost::json::serialize(facts);
}

std::string vsock_facts(const HostCapabilities& caps) {
  boost::json::object facts{{"vsock",
                             {{"vhost_vsock_present", caps.vsock.vhost_present},
                              {"vhost_vsock_openable", caps.vsock.vhost_openable},
                              {"af_vsock", caps.vsock.af_vsock}}}};
  return boost::json::serialize(facts);
}

}  // namespace

bool kernel_is_pvm_guest(const std::string& kernel) {
  if (kernel.empty()) return false;
  const fs::path k(kernel);
  for (const fs::path& cfg : {fs::path(kernel + ".config"), k.parent_path() / "config"}) {
    if (is_file(cfg) && config_declares_pvm_guest(read_text(cfg))) return true;
  }
  return false;
}

std::vector<Check> diagnose_host(const HostCapabilities& caps, const std::string& kernel) {
  const bool kernel_pvm_ok = is_file(kernel) && kernel_is_pvm_guest(kernel);
  Check kvm = check_kvm(caps, kernel_pvm_ok);
  kvm.facts_json = kvm_facts(caps, kernel_pvm_ok);
  Check vsock = check_vsock(caps);
  vsock.facts_json = vsock_facts(caps);
  return {std::move(kvm), std::move(vsock)};
}

}  // namespace voidbox::kvm::host
