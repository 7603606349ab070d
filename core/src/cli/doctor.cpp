#include "cli/doctor.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/verb.hpp"
#include "runtime/guest_artifacts.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::cli {
namespace {

namespace fs = std::filesystem;
using host::HypervisorKind;

enum class Status { ok, note, warn, fail };

std::string_view status_name(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::note:
      return "note";
    case Status::warn:
      return "warn";
    case Status::fail:
      return "fail";
  }
  return "fail";
}

struct Check {
  std::string name;
  Status status;
  std::string detail;
  std::string remedy;  // empty when nothing needs doing
};

struct Artifact {
  std::optional<std::string> path;
  std::string origin;     // "VOID_BOX_KERNEL", "cache", ...
  std::string looked_in;  // for the message when nothing was found
  bool exists = false;
};

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

// Same rule as the KVM backend: a kernel declares CONFIG_PVM_GUEST in
// <kernel>.config or in a "config" file beside it (fetch-kernel.sh's layout).
bool kernel_is_pvm_guest(const std::string& kernel) {
  const fs::path k(kernel);
  for (const fs::path& cfg : {fs::path(kernel + ".config"), k.parent_path() / "config"}) {
    if (is_file(cfg) && host::config_declares_pvm_guest(read_text(cfg))) return true;
  }
  return false;
}

std::string hypervisor_text(const host::HostCapabilities& caps) {
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

Check check_kvm(const host::HostCapabilities& caps, const Artifact& kernel, bool& kernel_pvm_ok) {
  Check c{"kvm", Status::fail, "", ""};
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
    c.status = Status::ok;
    c.detail = usable;
    return c;
  }
  if (caps.hypervisor == HypervisorKind::pvm) {
    kernel_pvm_ok = kernel.exists && kernel_is_pvm_guest(*kernel.path);
    if (kernel_pvm_ok) {
      c.status = Status::ok;
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
  c.status = Status::warn;
  c.detail = usable + "; cannot tell whether it boots stock kernels";
  c.remedy = "if VMs hang at boot, " + std::string(kNestedHint);
  return c;
}

Check check_vsock(const host::HostCapabilities& caps) {
  const auto& v = caps.vsock;
  Check c{"vsock", Status::ok, "", ""};
  std::string vhost;
  if (v.vhost_openable) {
    vhost = "/dev/vhost-vsock usable";
  } else if (v.vhost_present) {
    vhost = "/dev/vhost-vsock present but not openable (" + errno_text(v.vhost_open_errno) + ")";
    c.status = Status::note;
    c.remedy = "only tools using kernel vsock need it: run as root or grant access";
  } else {
    vhost = "no /dev/vhost-vsock";
    c.status = Status::note;
    c.remedy = "only tools using kernel vsock need it: modprobe vhost_vsock";
  }
  const std::string af = v.af_vsock ? "AF_VSOCK sockets supported"
                                    : "no AF_VSOCK sockets (" + errno_text(v.af_vsock_errno) + ")";
  c.detail = vhost + "; " + af +
             ". VoidBox's KVM backend brings its own vsock device, so VMs boot without them";
  return c;
}

Artifact find_kernel(const DoctorOptions& o, const fs::path& cache) {
  Artifact a;
  if (auto env = o.getenv("VOID_BOX_KERNEL"); env && !env->empty()) {
    a.path = *env;
    a.origin = "VOID_BOX_KERNEL";
  } else if (auto k = runtime::newest_cached_kernel(cache / "kernels")) {
    a.path = k->string();
    a.origin = "cache";
  }
  a.looked_in =
      "VOID_BOX_KERNEL, " + (cache / "kernels").string() + "/<version>/vmlinux or vmlinuz";
  a.exists = a.path && is_file(*a.path);
  return a;
}

Artifact find_initramfs(const DoctorOptions& o, const fs::path& cache) {
  Artifact a;
  if (auto env = o.getenv("VOID_BOX_INITRAMFS"); env && !env->empty()) {
    a.path = *env;
    a.origin = "VOID_BOX_INITRAMFS";
  } else if (auto i = runtime::newest_cached_initramfs(cache / "images")) {
    a.path = i->string();
    a.origin = "cache";
  }
  a.looked_in = "VOID_BOX_INITRAMFS, " + (cache / "images").string();
  a.exists = a.path && is_file(*a.path);
  return a;
}

Check check_artifact(const std::string& name, const Artifact& a, const std::string& env,
                     const std::string& producer) {
  Check c{name, Status::ok, "", ""};
  if (!a.path) {
    c.status = Status::fail;
    c.detail = "no guest " + name + " found (looked in " + a.looked_in + ")";
    c.remedy = "run " + producer + ", or set " + env;
  } else if (!a.exists) {
    c.status = Status::fail;
    c.detail = *a.path + " (from " + a.origin + ") does not exist";
    c.remedy = a.origin == env ? "point " + env + " at an existing file, or unset it"
                               : "run " + producer + " again";
  } else {
    c.detail = *a.path + " (from " + a.origin + ")";
  }
  return c;
}

std::vector<Check> check_plugins(const DoctorOptions& o) {
  std::vector<Check> checks;
  if (!o.plugins_scanned) return checks;
  int loaded = 0;
  for (const auto& p : o.plugins) {
    if (p.ok) {
      ++loaded;
      continue;
    }
    checks.push_back(
        {"plugin", Status::warn,
         p.path + (p.name.empty() ? "" : " (" + p.name + ")") + " failed to load: " + p.reason,
         "rebuild or remove it; `voidbox plugins list` shows every plugin"});
  }
  Check summary{"plugins", Status::ok,
                std::to_string(loaded) + " loaded, " +
                    std::to_string(o.plugins.size() - static_cast<std::size_t>(loaded)) + " failed",
                ""};
  if (o.vm_backend_loaded && !*o.vm_backend_loaded) {
    summary.status = Status::fail;
    summary.detail += "; no VM backend (kvm) plugin loaded";
    summary.remedy = "build plugins/backend-kvm, or point VOIDBOX_PLUGIN_PATH at its directory";
  }
  checks.insert(checks.begin(), std::move(summary));
  return checks;
}

boost::json::value optional_string(const std::optional<std::string>& s) {
  if (s) return boost::json::value(*s);
  return nullptr;
}

}  // namespace

int run_doctor(const DoctorOptions& options_in, std::ostream& out) {
  DoctorOptions o = options_in;
  if (!o.getenv) {
    o.getenv = [](std::string_view name) -> std::optional<std::string> {
      const char* v = std::getenv(std::string(name).c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  const host::HostCapabilities caps = o.host ? *o.host : host::probe_host();

  fs::path cache;
  if (auto xdg = o.getenv("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
    cache = fs::path(*xdg) / "voidbox";
  } else if (auto home = o.getenv("HOME"); home && !home->empty()) {
    cache = fs::path(*home) / ".cache" / "voidbox";
  } else {
    cache = "/tmp/voidbox-cache";
  }
  const Artifact kernel = find_kernel(o, cache);
  const Artifact initramfs = find_initramfs(o, cache);

  bool kernel_pvm_ok = false;
  std::vector<Check> checks;
  checks.push_back(check_kvm(caps, kernel, kernel_pvm_ok));
  checks.push_back(check_vsock(caps));
  checks.push_back(check_artifact("kernel", kernel, "VOID_BOX_KERNEL", "scripts/fetch-kernel.sh"));
  checks.push_back(
      check_artifact("initramfs", initramfs, "VOID_BOX_INITRAMFS", "scripts/build-guest-image.sh"));
  for (auto& c : check_plugins(o)) checks.push_back(std::move(c));

  int failures = 0;
  for (const auto& c : checks) failures += c.status == Status::fail ? 1 : 0;
  const bool bootable = failures == 0;

  if (o.json) {
    boost::json::array missing_caps;
    for (const auto& cap : caps.kvm.missing_caps) missing_caps.emplace_back(cap);
    boost::json::value api = nullptr;
    if (caps.kvm.api_version) api = *caps.kvm.api_version;
    boost::json::array plugins;
    for (const auto& p : o.plugins) {
      plugins.push_back({{"path", p.path}, {"name", p.name}, {"ok", p.ok}, {"reason", p.reason}});
    }
    boost::json::array check_list;
    for (const auto& c : checks) {
      check_list.push_back({{"name", c.name},
                            {"status", status_name(c.status)},
                            {"detail", c.detail},
                            {"remedy", c.remedy}});
    }
    boost::json::object doc{
        {"vm_bootable", bootable},
        {"kvm",
         {{"device", "/dev/kvm"},
          {"present", caps.kvm.present},
          {"openable", caps.kvm.openable},
          {"api_version", api},
          {"missing_caps", std::move(missing_caps)},
          {"usable", caps.kvm.usable()},
          {"hypervisor", host::to_string(caps.hypervisor)},
          {"hardware_kvm", caps.hardware_kvm()},
          {"pvm", caps.hypervisor == HypervisorKind::pvm},
          {"boots_stock_kernels", caps.boots_stock_kernels()}}},
        {"cpu",
         {{"vmx", caps.cpu.vmx}, {"svm", caps.cpu.svm}, {"hypervisor", caps.cpu.hypervisor}}},
        {"vsock",
         {{"vhost_vsock_present", caps.vsock.vhost_present},
          {"vhost_vsock_openable", caps.vsock.vhost_openable},
          {"af_vsock", caps.vsock.af_vsock}}},
        {"kernel",
         {{"path", optional_string(kernel.path)},
          {"origin", kernel.origin},
          {"found", kernel.exists},
          {"pvm_guest", kernel_pvm_ok}}},
        {"initramfs",
         {{"path", optional_string(initramfs.path)},
          {"origin", initramfs.origin},
          {"found", initramfs.exists}}},
        {"plugins", std::move(plugins)},
        {"checks", std::move(check_list)},
    };
    out << boost::json::serialize(doc) << "\n";
    return bootable ? kExitOk : kExitFailure;
  }

  out << "voidbox doctor\n\n";
  for (const auto& c : checks) {
    std::string status(status_name(c.status));
    if (c.status == Status::fail) status = "FAIL";
    out << "  " << status << std::string(6 - status.size(), ' ') << c.name
        << std::string(c.name.size() < 11 ? 11 - c.name.size() : 1, ' ') << c.detail << "\n";
    if (!c.remedy.empty()) out << "        " << std::string(11, ' ') << "fix: " << c.remedy << "\n";
  }
  out << "\n";
  if (bootable) {
    out << "A VM can be booted here.\n";
  } else {
    out << "VMs cannot be booted here: " << failures << (failures == 1 ? " problem" : " problems")
        << " marked FAIL above.\n";
  }
  return bootable ? kExitOk : kExitFailure;
}

int run_doctor(VerbContext& ctx) {
  const std::string usage =
      "usage: voidbox doctor [--output human|json] [--json]\n\n"
      "Checks whether this host can boot VoidBox VMs: KVM (hardware or PVM), vsock,\n"
      "the guest kernel and initramfs, plugins. Prints a fix for every problem.\n"
      "Exit status 0 only when a VM can be booted.\n";
  DoctorOptions o;
  o.json = ctx.global.output == OutputFormat::json;
  // Two flags do not need Boost.Program_options (whose typed values trip
  // GCC 12's -Wnull-dereference at -O2).
  for (std::size_t i = 0; i < ctx.args.size(); ++i) {
    const std::string& arg = ctx.args[i];
    std::string output;
    if (arg == "--help" || arg == "-h") {
      ctx.out << usage;
      return kExitOk;
    } else if (arg == "--json") {
      output = "json";
    } else if (arg == "--output" && i + 1 < ctx.args.size()) {
      output = ctx.args[++i];
    } else if (arg.starts_with("--output=")) {
      output = arg.substr(std::string_view("--output=").size());
    } else {
      ctx.err << "voidbox doctor: unexpected argument '" << arg << "'\n" << usage;
      return kExitUsage;
    }
    if (output != "json" && output != "human") {
      ctx.err << "voidbox doctor: --output must be human or json, not '" << output << "'\n";
      return kExitUsage;
    }
    o.json = output == "json";
  }

  plugin::Registry registry(/*log_failures=*/false);
  registry.load_default();
  for (const auto& p : registry.plugins()) {
    o.plugins.push_back({p.path.string(), p.name, true, ""});
  }
  for (const auto& f : registry.failures()) {
    o.plugins.push_back({f.path.string(), f.path.stem().string(), false, f.reason});
  }
  o.plugins_scanned = true;
  o.vm_backend_loaded = registry.find(VB_KIND_BACKEND, "kvm").has_value();
  return run_doctor(o, ctx.out);
}

}  // namespace voidbox::cli
