// The C ABI face of the "process" backend, through the SDK's backend helper.
#include <memory>
#include <string>
#include <vector>

#include "process_vm.hpp"
#include "voidbox/sdk/all.hpp"

namespace {

using voidbox::process_backend::ProcessVm;
using voidbox::sdk::fail;
using voidbox::sdk::Result;

class ProcessSandbox final : public voidbox::sdk::Vm {
 public:
  explicit ProcessSandbox(voidbox::process_backend::ProcessVmConfig config)
      : vm_(std::move(config)) {}

  Result<> start() override {
    if (auto r = vm_.start(); !r) return fail(VB_ERR_IO, r.error());
    voidbox::sdk::Log::info("process backend (NO VM, not a security boundary): " +
                            vm_.confinement_note());
    return {};
  }
  Result<int> connect(std::uint32_t port) override {
    auto fd = vm_.connect(port);
    if (!fd) return fail(VB_ERR_IO, fd.error());
    return *fd;
  }
  Result<voidbox::sdk::ExitInfo> wait(std::int32_t timeout_ms) override {
    const vb_exit_info info = vm_.wait(timeout_ms);
    if (info.reason == VB_EXIT_RUNNING) return fail(VB_ERR_TIMEOUT, info.detail);
    return voidbox::sdk::ExitInfo{info.reason, info.code, info.detail};
  }
  Result<> stop(std::int32_t timeout_ms) override {
    vm_.stop(timeout_ms);
    return {};
  }

 private:
  ProcessVm vm_;
};

struct ProcessBackend {
  static std::uint32_t capabilities() { return 0; }  // not a VM; needs no guest kernel
  static std::vector<voidbox::sdk::Check> diagnose(const voidbox::sdk::DiagnoseOptions&) {
    return {{"process", VB_CHECK_NOTE,
             "runs the guest agent as a local namespaced process: NO VM, not a security boundary",
             "", ""}};
  }
  static Result<> probe() { return {}; }
  static Result<std::unique_ptr<ProcessSandbox>> create(std::string_view config_json) {
    auto config = voidbox::process_backend::parse_config(config_json);
    if (!config) return fail(VB_ERR_INVALID_ARGUMENT, config.error());
    return std::make_unique<ProcessSandbox>(std::move(*config));
  }
};

Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_backend("process", voidbox::sdk::backend_vtable<ProcessBackend>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN(
    "backend-process", "0.1.0",
    "NO VM: guest agent as a local namespaced process (development; not a security boundary)", init)
