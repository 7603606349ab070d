#include "host/capabilities.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

#include "voidbox/sdk/unique_fd.hpp"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

namespace voidbox::kvm::host {
namespace {

bool has_module(const std::vector<std::string>& modules, std::string_view name) {
  return std::ranges::find(modules, name) != modules.end();
}

bool has_word(std::string_view text, std::string_view word) {
  std::size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\t';
    const std::size_t end = pos + word.size();
    const bool ends = end == text.size() || text[end] == ' ' || text[end] == '\t';
    if (starts && ends) return true;
    pos = end;
  }
  return false;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

using Fd = voidbox::sdk::UniqueFd;

}  // namespace

std::string_view to_string(HypervisorKind kind) noexcept {
  switch (kind) {
    case HypervisorKind::none:
      return "none";
    case HypervisorKind::kvm_intel:
      return "kvm-intel";
    case HypervisorKind::kvm_amd:
      return "kvm-amd";
    case HypervisorKind::pvm:
      return "pvm";
    case HypervisorKind::kvm_unknown:
      return "kvm-unknown";
  }
  return "none";
}

CpuFlags parse_cpuinfo_flags(std::string_view cpuinfo) {
  CpuFlags flags;
  std::size_t line_start = 0;
  while (line_start < cpuinfo.size()) {
    std::size_t line_end = cpuinfo.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = cpuinfo.size();
    std::string_view line = cpuinfo.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    // "flags\t\t: fpu vme ..." (the key is padded with tabs)
    if (!line.starts_with("flags")) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    if (key != "flags") continue;
    std::string_view words = line.substr(colon + 1);
    flags.vmx = has_word(words, "vmx");
    flags.svm = has_word(words, "svm");
    flags.hypervisor = has_word(words, "hypervisor");
    break;  // every CPU lists the same virtualisation flags
  }
  return flags;
}

HypervisorKind classify_hypervisor(const std::vector<std::string>& modules, const CpuFlags& cpu,
                                   bool dev_kvm_exists) {
  (void)cpu;  // the CPU flags say what could be loaded, not what serves /dev/kvm
  if (has_module(modules, "kvm_pvm")) return HypervisorKind::pvm;
  if (has_module(modules, "kvm_intel")) return HypervisorKind::kvm_intel;
  if (has_module(modules, "kvm_amd")) return HypervisorKind::kvm_amd;
  if (dev_kvm_exists || has_module(modules, "kvm")) return HypervisorKind::kvm_unknown;
  return HypervisorKind::none;
}

HostCapabilities evaluate_host(const HostFacts& facts) {
  HostCapabilities caps;
  caps.cpu = parse_cpuinfo_flags(facts.cpuinfo);
  caps.hypervisor = classify_hypervisor(facts.modules, caps.cpu, facts.dev_kvm.exists);

  caps.kvm.present = facts.dev_kvm.exists;
  caps.kvm.openable = facts.dev_kvm.openable();
  caps.kvm.open_errno = facts.dev_kvm.exists ? facts.dev_kvm.open_errno : ENOENT;
  if (caps.kvm.openable) {
    caps.kvm.api_version = facts.kvm_api_version;
    caps.kvm.missing_caps = facts.kvm_missing_caps;
  }

  caps.vsock.vhost_present = facts.dev_vhost_vsock.exists;
  caps.vsock.vhost_openable = facts.dev_vhost_vsock.openable();
  caps.vsock.vhost_open_errno =
      facts.dev_vhost_vsock.exists ? facts.dev_vhost_vsock.open_errno : ENOENT;
  caps.vsock.af_vsock = facts.af_vsock_errno == 0;
  caps.vsock.af_vsock_errno = facts.af_vsock_errno;
  return caps;
}

bool config_declares_pvm_guest(std::string_view kernel_config) {
  std::size_t line_start = 0;
  while (line_start < kernel_config.size()) {
    std::size_t line_end = kernel_config.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = kernel_config.size();
    std::string_view line = kernel_config.substr(line_start, line_end - line_start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line == "CONFIG_PVM_GUEST=y") return true;
    line_start = line_end + 1;
  }
  return false;
}

std::vector<std::string> loaded_kvm_modules(const ProbePaths& paths) {
  std::vector<std::string> modules;
  for (const char* name : {"kvm", "kvm_intel", "kvm_amd", "kvm_pvm"}) {
    if (exists(paths.sys_module + "/" + name)) modules.emplace_back(name);
  }
  return modules;
}

HostFacts probe_host_facts(const ProbePaths& paths) {
  HostFacts facts;
  facts.cpuinfo = read_file(paths.cpuinfo);
  facts.modules = loaded_kvm_modules(paths);

  facts.dev_kvm.exists = exists(paths.dev_kvm);
  if (facts.dev_kvm.exists) {
    Fd kvm(::open(paths.dev_kvm.c_str(), O_RDWR | O_CLOEXEC));
    if (!kvm.valid()) {
      facts.dev_kvm.open_errno = errno;
    } else {
      // A non-KVM file (tests, odd setups) answers -1/ENOTTY: recorded as
      // "no API version" rather than guessed.
      const int version = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
      if (version >= 0) {
        facts.kvm_api_version = version;
        // What the KVM backend needs beyond the API version.
        constexpr std::pair<int, const char*> kNeeded[] = {
            {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
            {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
            {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
            {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
        };
        for (const auto& [cap, name] : kNeeded) {
          if (::ioctl(kvm.get(), KVM_CHECK_EXTENSION, cap) <= 0) {
            facts.kvm_missing_caps.emplace_back(name);
          }
        }
      }
    }
  }

  facts.dev_vhost_vsock.exists = exists(paths.dev_vhost_vsock);
  if (facts.dev_vhost_vsock.exists) {
    Fd vhost(::open(paths.dev_vhost_vsock.c_str(), O_RDWR | O_CLOEXEC));
    if (!vhost.valid()) facts.dev_vhost_vsock.open_errno = errno;
  }

  if (paths.probe_af_vsock) {
    Fd sock(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    facts.af_vsock_errno = sock.valid() ? 0 : errno;
  }
  return facts;
}

}  // namespace voidbox::kvm::host
