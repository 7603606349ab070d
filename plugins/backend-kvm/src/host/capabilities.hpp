// What this host offers for running micro-VMs: KVM (and which kind), vsock.
// The KVM backend owns this knowledge: its plugin diagnoses the host with it
// (host/diagnosis.hpp) and voidbox-vmm checks the kernel against it.
//
// Two layers. probe_host_facts() gathers raw observations (file contents,
// open/ioctl/socket results); evaluate_host() turns facts into a verdict and
// is pure, so tests cover every host kind without root or KVM.
//
// The kind matters because a PVM-served /dev/kvm (/sys/module/kvm_pvm; no
// vmx/svm in /proc/cpuinfo) passes every API check yet runs only guest
// kernels built with CONFIG_PVM_GUEST: stock kernels hang silently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::kvm::host {

enum class HypervisorKind {
  none,         // no KVM module and no /dev/kvm
  kvm_intel,    // hardware KVM, Intel VT-x (kvm_intel)
  kvm_amd,      // hardware KVM, AMD SVM (kvm_amd)
  pvm,          // PVM (kvm_pvm): paravirtualised guests only
  kvm_unknown,  // /dev/kvm or kvm present, but no known vendor module
};

// "kvm-intel", "kvm-amd", "pvm", "kvm-unknown", "none"
std::string_view to_string(HypervisorKind kind) noexcept;

// Outcome of open(2) on a device node.
struct DeviceProbe {
  bool exists = false;
  int open_errno = 0;  // 0: opened (or not tried because it does not exist)
  bool openable() const noexcept { return exists && open_errno == 0; }
};

// Raw observations. Everything probe_host_facts() reads, nothing derived.
struct HostFacts {
  std::string cpuinfo;               // /proc/cpuinfo
  std::vector<std::string> modules;  // which of kvm, kvm_intel, kvm_amd, kvm_pvm are in /sys/module
  DeviceProbe dev_kvm;
  std::optional<int> kvm_api_version;         // KVM_GET_API_VERSION, when /dev/kvm opened
  std::vector<std::string> kvm_missing_caps;  // required KVM_CAP_* the device lacks
  DeviceProbe dev_vhost_vsock;
  int af_vsock_errno = 0;  // socket(AF_VSOCK): 0 = supported
};

struct CpuFlags {
  bool vmx = false;         // Intel VT-x
  bool svm = false;         // AMD-V
  bool hypervisor = false;  // running as a guest itself
};

struct KvmStatus {
  bool present = false;   // /dev/kvm exists
  bool openable = false;  // open(O_RDWR) worked
  int open_errno = 0;
  std::optional<int> api_version;
  std::vector<std::string> missing_caps;
  bool usable() const noexcept { return openable && api_version == 12 && missing_caps.empty(); }
};

struct VsockStatus {
  bool vhost_present = false;  // /dev/vhost-vsock exists
  bool vhost_openable = false;
  int vhost_open_errno = 0;
  bool af_vsock = false;  // the kernel supports AF_VSOCK sockets
  int af_vsock_errno = 0;
};

struct HostCapabilities {
  KvmStatus kvm;
  HypervisorKind hypervisor = HypervisorKind::none;
  CpuFlags cpu;
  VsockStatus vsock;

  bool hardware_kvm() const noexcept {
    return hypervisor == HypervisorKind::kvm_intel || hypervisor == HypervisorKind::kvm_amd;
  }
  // A usable /dev/kvm that boots stock distribution kernels.
  bool boots_stock_kernels() const noexcept { return kvm.usable() && hardware_kvm(); }
};

// --- pure layer -----------------------------------------------------------

// Reads the first "flags" line of x86 /proc/cpuinfo; whole words only.
CpuFlags parse_cpuinfo_flags(std::string_view cpuinfo);

// Which hypervisor serves /dev/kvm. Only one KVM vendor module can be loaded
// at a time, so a vendor module decides; without one, a present /dev/kvm is
// classified by nothing and reported as kvm_unknown.
HypervisorKind classify_hypervisor(const std::vector<std::string>& modules, const CpuFlags& cpu,
                                   bool dev_kvm_exists);

HostCapabilities evaluate_host(const HostFacts& facts);

// True when a kernel .config text has CONFIG_PVM_GUEST=y (such a kernel
// boots under PVM).
bool config_declares_pvm_guest(std::string_view kernel_config);

// --- probing --------------------------------------------------------------

// Where probe_host_facts() looks; tests point these at fake trees.
struct ProbePaths {
  std::string cpuinfo = "/proc/cpuinfo";
  std::string sys_module = "/sys/module";
  std::string dev_kvm = "/dev/kvm";
  std::string dev_vhost_vsock = "/dev/vhost-vsock";
  bool probe_af_vsock = true;
};

HostFacts probe_host_facts(const ProbePaths& paths = {});

// Only the KVM modules, for a cheap "is this PVM?" on the VMM's boot path.
std::vector<std::string> loaded_kvm_modules(const ProbePaths& paths = {});

inline HostCapabilities probe_host(const ProbePaths& paths = {}) {
  return evaluate_host(probe_host_facts(paths));
}

}  // namespace voidbox::kvm::host
