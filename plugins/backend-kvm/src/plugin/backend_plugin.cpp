// Plugin "backend-kvm": registers backend "kvm". Each VM runs in its own
// voidbox-vmm process (spawned by start); this side only manages that
// process and opens vsock streams through its Unix socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "hybrid_vsock.hpp"
#include "vmm/host_probe.hpp"
#include "vmm/vm_config.hpp"
#include "vmm/vm_outcome.hpp"
#include "vmm_locator.hpp"
#include "vmm_process.hpp"
#include "voidbox/plugin_abi.h"

using voidbox::kvm::VmmProcess;

struct vb_vm {
  voidbox::kvm::VmConfig config;
  std::string config_path;
  std::string vmm_path;
  std::unique_ptr<VmmProcess> process;
  bool stop_requested = false;
};

namespace {

namespace kvm = voidbox::kvm;

constexpr auto kConnectTimeout = std::chrono::seconds(30);

void set_error(vb_error* error, const std::string& message) {
  if (error == nullptr || error->message == nullptr || error->capacity == 0) return;
  std::snprintf(error->message, error->capacity, "%s", message.c_str());
}

void set_detail(vb_exit_info* out, const std::string& detail) {
  std::snprintf(out->detail, sizeof out->detail, "%s", detail.c_str());
}

vb_status probe(vb_error* error) {
  try {
    if (auto r = kvm::probe_kvm(); !r) {
      set_error(error, r.error().message);
      return VB_ERR_UNSUPPORTED;
    }
    if (kvm::host_is_pvm()) {
      set_error(error,
                "/dev/kvm is PVM (/sys/module/kvm_pvm): only kernels built with "
                "CONFIG_PVM_GUEST=y boot here; stock distribution kernels hang (use the nested "
                "harness scripts/vmtest.sh, or a PVM guest kernel with its config next to it)");
      return VB_ERR_UNSUPPORTED;
    }
    if (auto r = kvm::locate_vmm(); !r) {
      set_error(error, r.error().message);
      return VB_ERR_UNSUPPORTED;
    }
    return VB_OK;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    return VB_ERR_INTERNAL;
  }
}

vb_status create(const char* config_json, std::size_t config_len, vb_vm** out, vb_error* error) {
  try {
    if (config_json == nullptr || out == nullptr) {
      set_error(error, "kvm: null config or output pointer");
      return VB_ERR_INVALID_ARGUMENT;
    }
    const std::string text(config_json, config_len);
    auto config = kvm::parse_vm_config(text);
    if (!config) {
      set_error(error, "kvm: " + config.error().message);
      return VB_ERR_INVALID_ARGUMENT;
    }
    if (auto r = kvm::probe_kvm(); !r) {
      set_error(error, "kvm: " + r.error().message);
      return VB_ERR_UNSUPPORTED;
    }
    if (auto r = kvm::check_kernel_runs_here(config->kernel); !r) {
      set_error(error, "kvm: " + r.error().message);
      return VB_ERR_UNSUPPORTED;
    }
    auto vmm = kvm::locate_vmm();
    if (!vmm) {
      set_error(error, "kvm: " + vmm.error().message);
      return VB_ERR_NOT_FOUND;
    }
    auto vm = std::make_unique<vb_vm>();
    vm->config = std::move(*config);
    vm->vmm_path = std::move(*vmm);
    vm->config_path = vm->config.state_dir + "/vm-config.json";
    std::ofstream f(vm->config_path, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f.flush()) {
      set_error(error, "kvm: cannot write " + vm->config_path + " (state_dir must exist)");
      return VB_ERR_IO;
    }
    *out = vm.release();
    return VB_OK;
  } catch (const std::exception& e) {
    set_error(error, std::string("kvm: ") + e.what());
    return VB_ERR_INTERNAL;
  }
}

vb_status start(vb_vm* vm, vb_error* error) {
  try {
    if (vm == nullptr) return VB_ERR_INVALID_ARGUMENT;
    if (vm->process) {
      set_error(error, "kvm: VM already started");
      return VB_ERR_INVALID_ARGUMENT;
    }
    auto p = VmmProcess::spawn(vm->vmm_path, vm->config_path, vm->config.state_dir + "/vmm.log");
    if (!p) {
      set_error(error, "kvm: " + p.error().message);
      return VB_ERR_IO;
    }
    vm->process = std::make_unique<VmmProcess>(std::move(*p));
    return VB_OK;
  } catch (const std::exception& e) {
    set_error(error, std::string("kvm: ") + e.what());
    return VB_ERR_INTERNAL;
  }
}

vb_status connect(vb_vm* vm, std::uint32_t port, int* fd_out, vb_error* error) {
  try {
    if (vm == nullptr || fd_out == nullptr || !vm->process) {
      set_error(error, "kvm: connect needs a started VM");
      return VB_ERR_INVALID_ARGUMENT;
    }
    auto fd = kvm::hybrid_vsock_connect(kvm::vsock_socket_path(vm->config), port,
                                        std::chrono::steady_clock::now() + kConnectTimeout,
                                        [vm] { return !vm->process->wait(0).has_value(); });
    if (!fd) {
      set_error(error, "kvm: " + fd.error().message);
      return vm->process->status() ? VB_ERR_GUEST : VB_ERR_TIMEOUT;
    }
    *fd_out = fd->release();
    return VB_OK;
  } catch (const std::exception& e) {
    set_error(error, std::string("kvm: ") + e.what());
    return VB_ERR_INTERNAL;
  }
}

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

vb_status wait_vm(vb_vm* vm, std::int32_t timeout_ms, vb_exit_info* out) {
  try {
    if (vm == nullptr || out == nullptr || out->struct_size < sizeof(vb_exit_info)) {
      return VB_ERR_INVALID_ARGUMENT;
    }
    out->reason = VB_EXIT_RUNNING;
    out->code = 0;
    out->detail[0] = '\0';
    if (!vm->process) return VB_ERR_INVALID_ARGUMENT;
    auto status = vm->process->wait(timeout_ms);
    if (!status) return VB_ERR_TIMEOUT;
    const auto [reason, detail] = read_exit_file(vm->config.state_dir);
    if (WIFSIGNALED(*status)) {
      out->reason = vm->stop_requested ? VB_EXIT_KILLED : VB_EXIT_CRASH;
      out->code = WTERMSIG(*status);
      set_detail(out, std::string("voidbox-vmm killed by signal ") + std::to_string(out->code) +
                          " (see " + vm->config.state_dir + "/vmm.log)");
      return VB_OK;
    }
    const int code = WEXITSTATUS(*status);
    out->code = code;
    switch (code) {
      case 0:
        out->reason = VB_EXIT_POWEROFF;
        break;
      case 10:
        out->reason = VB_EXIT_REBOOT;
        break;
      case 12:
        out->reason = VB_EXIT_KILLED;
        break;
      default:  // 11 panic, 13 VMM error, 2 config error
        out->reason = VB_EXIT_CRASH;
        break;
    }
    set_detail(out, reason.empty() ? "voidbox-vmm exited with status " + std::to_string(code)
                                   : reason + ": " + detail);
    return VB_OK;
  } catch (const std::exception&) {
    return VB_ERR_INTERNAL;
  }
}

vb_status stop(vb_vm* vm, std::int32_t timeout_ms, vb_error* error) {
  try {
    if (vm == nullptr) return VB_ERR_INVALID_ARGUMENT;
    if (!vm->process || vm->process->status()) return VB_OK;
    vm->stop_requested = true;
    vm->process->signal(SIGTERM);
    if (vm->process->wait(timeout_ms < 0 ? 5000 : timeout_ms)) return VB_OK;
    vm->process->signal(SIGKILL);
    if (vm->process->wait(5000)) return VB_OK;
    set_error(error, "kvm: voidbox-vmm did not exit after SIGKILL");
    return VB_ERR_TIMEOUT;
  } catch (const std::exception& e) {
    set_error(error, std::string("kvm: ") + e.what());
    return VB_ERR_INTERNAL;
  }
}

void destroy(vb_vm* vm) {
  if (vm == nullptr) return;
  try {
    stop(vm, 2000, nullptr);
  } catch (...) {
  }
  delete vm;
}

const vb_backend_vtable kBackend = {
    sizeof(vb_backend_vtable), probe, create, start, connect, wait_vm, stop, destroy,
};

vb_status init(const vb_registrar* registrar, vb_error* error) {
  if (registrar == nullptr || registrar->register_factory == nullptr) {
    set_error(error, "backend-kvm: no registrar");
    return VB_ERR_INVALID_ARGUMENT;
  }
  const vb_status s =
      registrar->register_factory(registrar->host_ctx, VB_KIND_BACKEND, "kvm", &kBackend);
  if (s != VB_OK) set_error(error, "backend-kvm: cannot register backend \"kvm\"");
  return s;
}

void shutdown() {}

const vb_plugin_descriptor kDescriptor = {
    sizeof(vb_plugin_descriptor),
    VOIDBOX_ABI_MAJOR,
    VOIDBOX_ABI_MINOR,
    "backend-kvm",
    "0.1.0",
    "KVM micro-VMs, one voidbox-vmm process per VM",
    init,
    shutdown,
};

}  // namespace

extern "C" VOIDBOX_PLUGIN_EXPORT const vb_plugin_descriptor* voidbox_plugin_entry(void) {
  return &kDescriptor;
}
