// The runtime's view of a backend plugin: a factory and the VMs it creates.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/plugin/error.hpp"
#include "voidbox/plugin_abi.h"

namespace voidbox::plugin {

struct ExitInfo {
  vb_exit_reason reason = VB_EXIT_RUNNING;
  std::int32_t code = 0;
  std::string detail;
};

// One VM. Destroying it destroys the plugin object (which stops the VM).
// Used by one thread at a time.
class Vm {
 public:
  Vm(std::shared_ptr<const void> keep_alive, const vb_backend_vtable* vtable, vb_vm* handle,
     std::string backend);
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // The backend that made it, e.g. "kvm".
  const std::string& backend() const noexcept { return backend_; }

  std::expected<void, Error> start();
  // A connected stream to guest vsock `port`; the caller owns the fd.
  std::expected<int, Error> connect(std::uint32_t port);
  // reason == VB_EXIT_RUNNING when the timeout passed; -1 waits forever.
  std::expected<ExitInfo, Error> wait(std::int32_t timeout_ms);
  std::expected<void, Error> stop(std::int32_t timeout_ms);

 private:
  std::shared_ptr<const void> keep_alive_;
  const vb_backend_vtable* vtable_;
  vb_vm* handle_;
  std::string backend_;
};

// What a backend says it is (ABI 1.1).
struct BackendCapabilities {
  bool vm = false;            // the work runs in a VM: an isolation boundary
  bool needs_kernel = false;  // its config needs a guest kernel and initramfs
};

// One host check of a backend's diagnosis.
struct Check {
  std::string name;
  vb_check_result result = VB_CHECK_OK;
  std::string detail;
  std::string remedy;      // empty when nothing needs doing
  std::string facts_json;  // empty, or a JSON object of raw observations
};

class BackendFactory {
 public:
  BackendFactory(std::shared_ptr<const void> keep_alive, const vb_backend_vtable* vtable,
                 std::string name);

  const std::string& name() const noexcept { return name_; }
  // Whether this host can run the backend; the error says why not.
  std::expected<void, Error> probe() const;
  // nullopt from a plugin built for ABI 1.0, which cannot say.
  std::optional<BackendCapabilities> capabilities() const;
  // The backend's own host checks for booting `kernel` (may be empty). A
  // plugin built for ABI 1.0 yields one check, "probe", from probe().
  std::expected<std::vector<Check>, Error> diagnose(std::string_view kernel) const;
  // `config_json` follows the SDK's vm-config.md.
  std::expected<std::unique_ptr<Vm>, Error> create(std::string_view config_json) const;

 private:
  std::shared_ptr<const void> keep_alive_;
  const vb_backend_vtable* vtable_;
  std::string name_;
};

}  // namespace voidbox::plugin
