// Writing a backend as C++ classes. Implement `Vm`, and a backend class with
//
//   static voidbox::sdk::Result<> probe();
//   static voidbox::sdk::Result<std::unique_ptr<Vm>> create(std::string_view config_json);
//
// then register `backend_vtable<MyBackend>()`. Exceptions are caught at the
// edge and reported as VB_ERR_INTERNAL.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "voidbox/plugin_abi.h"
#include "voidbox/sdk/error.hpp"
#include "voidbox/sdk/guard.hpp"

namespace voidbox::sdk {

struct ExitInfo {
  vb_exit_reason reason = VB_EXIT_RUNNING;
  std::int32_t code = 0;
  std::string detail;
};

class Vm {
 public:
  virtual ~Vm() = default;  // must stop the VM if it still runs
  virtual Result<> start() = 0;
  // A connected blocking stream to guest vsock `port`; the caller owns the fd.
  virtual Result<int> connect(std::uint32_t port) = 0;
  // VB_EXIT_RUNNING (or a VB_ERR_TIMEOUT failure) when the timeout passed;
  // -1 waits forever.
  virtual Result<ExitInfo> wait(std::int32_t timeout_ms) = 0;
  virtual Result<> stop(std::int32_t timeout_ms) = 0;
};

namespace detail {

inline Vm* as_vm(vb_vm* handle) noexcept {
  return reinterpret_cast<Vm*>(handle);
}

// Writes `info` into the host's struct, touching only what its size covers.
inline void fill_exit_info(vb_exit_info* out, const ExitInfo& info) noexcept {
  if (out == nullptr || out->struct_size < sizeof(vb_exit_info)) return;
  out->reason = info.reason;
  out->code = info.code;
  const std::size_t n =
      info.detail.size() < sizeof out->detail ? info.detail.size() : sizeof out->detail - 1;
  std::memcpy(out->detail, info.detail.data(), n);
  out->detail[n] = '\0';
}

template <class T>
vb_status backend_probe(vb_error* error) noexcept {
  return guarded(error, [] { return T::probe(); });
}

template <class T>
vb_status backend_create(const char* config, size_t config_len, vb_vm** out,
                         vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (out == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null output handle");
    *out = nullptr;
    std::string_view json =
        config == nullptr ? std::string_view() : std::string_view(config, config_len);
    auto made = T::create(json);  // Result<std::unique_ptr<Vm or derived>>
    if (!made) return std::unexpected(std::move(made.error()));
    if (*made == nullptr) return fail(VB_ERR_INTERNAL, "create returned no VM");
    Vm* base = made->release();
    *out = reinterpret_cast<vb_vm*>(base);
    return {};
  });
}

inline vb_status backend_start(vb_vm* vm, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (vm == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null vm");
    return as_vm(vm)->start();
  });
}

inline vb_status backend_connect(vb_vm* vm, std::uint32_t port, int* fd_out,
                                 vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (vm == nullptr || fd_out == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null argument");
    *fd_out = -1;
    Result<int> fd = as_vm(vm)->connect(port);
    if (!fd) return std::unexpected(std::move(fd.error()));
    *fd_out = *fd;
    return {};
  });
}

inline vb_status backend_wait(vb_vm* vm, std::int32_t timeout_ms, vb_exit_info* out) noexcept {
  ErrorBuffer message;
  ExitInfo info;
  vb_status status = guarded(message.get(), [&]() -> Result<> {
    if (vm == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null vm");
    Result<ExitInfo> waited = as_vm(vm)->wait(timeout_ms);
    if (!waited) return std::unexpected(std::move(waited.error()));
    info = std::move(*waited);
    return {};
  });
  if (status != VB_OK) {
    // A timeout is "still running", reported with its status; anything else ended the VM.
    info = ExitInfo{status == VB_ERR_TIMEOUT ? VB_EXIT_RUNNING : VB_EXIT_CRASH, 0, {}};
    info.detail = message.message();
  }
  fill_exit_info(out, info);
  return status;
}

inline vb_status backend_stop(vb_vm* vm, std::int32_t timeout_ms, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (vm == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null vm");
    return as_vm(vm)->stop(timeout_ms);
  });
}

inline void backend_destroy(vb_vm* vm) noexcept {
  try {
    delete as_vm(vm);
  } catch (...) {
  }
}

}  // namespace detail

template <class T>
const vb_backend_vtable* backend_vtable() noexcept {
  static constexpr vb_backend_vtable table = {sizeof(vb_backend_vtable),  &detail::backend_probe<T>,
                                              &detail::backend_create<T>, &detail::backend_start,
                                              &detail::backend_connect,   &detail::backend_wait,
                                              &detail::backend_stop,      &detail::backend_destroy};
  return &table;
}

}  // namespace voidbox::sdk
