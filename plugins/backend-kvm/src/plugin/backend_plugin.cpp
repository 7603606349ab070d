// Plugin "backend-kvm": registers backend "kvm". Each VM runs in its own
// voidbox-vmm process (spawned by start); this side only manages that
// process and opens vsock streams through its Unix socket.
#include <signal.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "host/capabilities.hpp"
#include "host/diagnosis.hpp"
#include "hybrid_vsock.hpp"
#include "vmm/host_probe.hpp"
#include "vmm/vm_config.hpp"
#include "vmm/vm_outcome.hpp"
#include "vmm_locator.hpp"
#include "vmm_process.hpp"
#include "voidbox/sdk/all.hpp"

namespace {

namespace kvm = voidbox::kvm;
using kvm::VmmProcess;
using voidbox::sdk::fail;
using voidbox::sdk::Result;

constexpr auto kConnectTimeout = std::chrono::seconds(30);

// exit.json as voidbox-vmm wrote it: {"reason": ..., "detail": ...}.
std::pair<std::string, std::string> read_exit_file(const std::string& state_dir) {
  std::ifstream in(kvm::exit_file_path(state_dir));
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = boost::json::parse(ss.str(), ec);
  if (ec || !v.is_object()) return {};
  const auto& o = v.as_object();
  const auto str = [&](const char* k) {
    const auto* x = o.if_contains(k);
    return x != nullptr && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  return {str("reason"), str("detail")};
}

class KvmVm final : public voidbox::sdk::Vm {
 public:
  KvmVm(kvm::VmConfig config, std::string config_path, std::string vmm_path)
      : config_(std::move(config)),
        config_path_(std::move(config_path)),
        vmm_path_(std::move(vmm_path)) {}
  ~KvmVm() override { (void)stop(2000); }
  KvmVm(const KvmVm&) = delete;
  KvmVm& operator=(const KvmVm&) = delete;

  Result<> start() override {
    if (process_) return fail(VB_ERR_INVALID_ARGUMENT, "kvm: VM already started");
    auto p = VmmProcess::spawn(vmm_path_, config_path_, config_.state_dir + "/vmm.log");
    if (!p) return fail(VB_ERR_IO, "kvm: " + p.error().message);
    process_ = std::make_unique<VmmProcess>(std::move(*p));
    return {};
  }

  Result<int> connect(std::uint32_t port) override {
    if (!process_) return fail(VB_ERR_INVALID_ARGUMENT, "kvm: connect needs a started VM");
    auto fd = kvm::hybrid_vsock_connect(kvm::vsock_socket_path(config_), port,
                                        std::chrono::steady_clock::now() + kConnectTimeout,
                                        [this] { return !process_->wait(0).has_value(); });
    if (!fd) {
      return fail(process_->status() ? VB_ERR_GUEST : VB_ERR_TIMEOUT, "kvm: " + fd.error().message);
    }
    return fd->release();
  }

  Result<voidbox::sdk::ExitInfo> wait(std::int32_t timeout_ms) override {
    if (!process_) return fail(VB_ERR_INVALID_ARGUMENT, "kvm: wait needs a started VM");
    auto status = process_->wait(timeout_ms);
    if (!status) return fail(VB_ERR_TIMEOUT, "");
    const auto [reason, detail] = read_exit_file(config_.state_dir);
    voidbox::sdk::ExitInfo out;
    if (WIFSIGNALED(*status)) {
      out.reason = stop_requested_ ? VB_EXIT_KILLED : VB_EXIT_CRASH;
      out.code = WTERMSIG(*status);
      out.detail = "voidbox-vmm killed by signal " + std::to_string(out.code) + " (see " +
                   config_.state_dir + "/vmm.log)";
      return out;
    }
    out.code = WEXITSTATUS(*status);
    switch (out.code) {
      case 0:
        out.reason = VB_EXIT_POWEROFF;
        break;
      case 10:
        out.reason = VB_EXIT_REBOOT;
        break;
      case 12:
        out.reason = VB_EXIT_KILLED;
        break;
      default:  // 11 panic, 13 VMM error, 2 config error
        out.reason = VB_EXIT_CRASH;
        break;
    }
    out.detail = reason.empty() ? "voidbox-vmm exited with status " + std::to_string(out.code)
                                : reason + ": " + detail;
    return out;
  }

  Result<> stop(std::int32_t timeout_ms) override {
    if (!process_ || process_->status()) return {};
    stop_requested_ = true;
    process_->signal(SIGTERM);
    if (process_->wait(timeout_ms < 0 ? 5000 : timeout_ms)) return {};
    process_->signal(SIGKILL);
    if (process_->wait(5000)) return {};
    return fail(VB_ERR_TIMEOUT, "kvm: voidbox-vmm did not exit after SIGKILL");
  }

 private:
  kvm::VmConfig config_;
  std::string config_path_;
  std::string vmm_path_;
  std::unique_ptr<VmmProcess> process_;
  bool stop_requested_ = false;
};

struct KvmBackend {
  static std::uint32_t capabilities() { return VB_BACKEND_VM | VB_BACKEND_NEEDS_KERNEL; }

  static std::vector<voidbox::sdk::Check> diagnose(const voidbox::sdk::DiagnoseOptions& options) {
    auto checks = kvm::host::diagnose_host(kvm::host::probe_host(), options.kernel);
    if (auto vmm = kvm::locate_vmm(); vmm) {
      checks.push_back(
          {"vmm", VB_CHECK_OK, std::filesystem::path(*vmm).lexically_normal().string(), "", ""});
    } else {
      checks.push_back({"vmm", VB_CHECK_FAIL, vmm.error().message,
                        "build voidbox-vmm (plugins/backend-kvm) or set VOIDBOX_VMM to it", ""});
    }
    return checks;
  }

  static Result<> probe() {
    if (auto r = kvm::probe_kvm(); !r) return fail(VB_ERR_UNSUPPORTED, r.error().message);
    if (kvm::host_is_pvm()) {
      return fail(VB_ERR_UNSUPPORTED,
                  "/dev/kvm is PVM (/sys/module/kvm_pvm): only kernels built with "
                  "CONFIG_PVM_GUEST=y boot here; stock distribution kernels hang (use the nested "
                  "harness scripts/vmtest.sh, or a PVM guest kernel with its config next to it)");
    }
    if (auto r = kvm::locate_vmm(); !r) return fail(VB_ERR_UNSUPPORTED, r.error().message);
    return {};
  }

  static Result<std::unique_ptr<KvmVm>> create(std::string_view json) {
    const std::string text(json);
    auto config = kvm::parse_vm_config(text);
    if (!config) return fail(VB_ERR_INVALID_ARGUMENT, "kvm: " + config.error().message);
    if (auto r = kvm::probe_kvm(); !r) return fail(VB_ERR_UNSUPPORTED, "kvm: " + r.error().message);
    if (auto r = kvm::check_kernel_runs_here(config->kernel); !r) {
      return fail(VB_ERR_UNSUPPORTED, "kvm: " + r.error().message);
    }
    auto vmm = kvm::locate_vmm();
    if (!vmm) return fail(VB_ERR_NOT_FOUND, "kvm: " + vmm.error().message);
    std::string config_path = config->state_dir + "/vm-config.json";
    std::ofstream f(config_path, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f.flush()) {
      return fail(VB_ERR_IO, "kvm: cannot write " + config_path + " (state_dir must exist)");
    }
    return std::make_unique<KvmVm>(std::move(*config), std::move(config_path), std::move(*vmm));
  }
};

Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_backend("kvm", voidbox::sdk::backend_vtable<KvmBackend>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("backend-kvm", "0.1.0", "KVM micro-VMs, one voidbox-vmm process per VM", init)
