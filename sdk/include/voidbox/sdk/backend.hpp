// Writing a backend as C++ classes. Implement `Vm`, and a backend class with
//
//   static voidbox::sdk::Result<> probe();
//   static voidbox::sdk::Result<std::unique_ptr<Vm>> create(std::string_view config_json);
//
// and optionally (ABI 1.1)
//
//   static std::uint32_t capabilities();  // vb_backend_flag bits; default 0
//   static std::vector<voidbox::sdk::Check> diagnose(const voidbox::sdk::DiagnoseOptions&);
//
// (default: one check named "probe" from probe()), then register
// `backend_vtable<MyBackend>()`. Exceptions are caught at the edge and
// reported as VB_ERR_INTERNAL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

// One host check of a backend's diagnosis (see vb_check).
struct Check {
  std::string name;
  vb_check_result result = VB_CHECK_OK;
  std::string detail;
  std::string remedy;
  std::string facts_json;  // empty, or a JSON object
};

struct DiagnoseOptions {
  std::string kernel;  // the guest kernel a run would boot; empty if unknown
};

namespace detail {

// The value of "kernel" in a flat JSON object; enough for diagnose's one
// option without a JSON library in every plugin.
inline std::string kernel_option(std::string_view json) {
  const auto key = json.find("\"kernel\"");
  if (key == std::string_view::npos) return {};
  auto at = json.find(':', key);
  if (at == std::string_view::npos) return {};
  at = json.find('"', at);
  if (at == std::string_view::npos) return {};
  std::string value;
  for (++at; at < json.size() && json[at] != '"'; ++at) {
    if (json[at] == '\\' && at + 1 < json.size()) ++at;
    value += json[at];
  }
  return value;
}

template <class T>
void backend_capabilities(vb_backend_capabilities* out) noexcept {
  if (out == nullptr || out->struct_size < offsetof(vb_backend_capabilities, flags) + 4) return;
  std::uint32_t flags = 0;
  if constexpr (requires { T::capabilities(); }) {
    try {
      flags = T::capabilities();
    } catch (...) {
    }
  }
  out->flags = flags;
}

template <class T>
vb_status backend_diagnose(const char* options, size_t options_len, vb_check_sink sink,
                           void* sink_ctx, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (sink == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null sink");
    DiagnoseOptions parsed;
    if (options != nullptr) parsed.kernel = kernel_option(std::string_view(options, options_len));
    std::vector<Check> checks;
    if constexpr (requires(const DiagnoseOptions& o) { T::diagnose(o); }) {
      checks = T::diagnose(parsed);
    } else {
      Result<> probed = T::probe();
      checks.push_back(probed ? Check{"probe", VB_CHECK_OK, "the backend can run here", "", ""}
                              : Check{"probe", VB_CHECK_FAIL, probed.error().message, "", ""});
    }
    for (const Check& c : checks) {
      const vb_check out{sizeof(vb_check), c.name.c_str(),
                         c.result,         c.detail.c_str(),
                         c.remedy.c_str(), c.facts_json.empty() ? nullptr : c.facts_json.c_str()};
      sink(sink_ctx, &out);
    }
    return {};
  });
}

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
  static constexpr vb_backend_vtable table = {
      sizeof(vb_backend_vtable),   &detail::backend_probe<T>, &detail::backend_create<T>,
      &detail::backend_start,      &detail::backend_connect,  &detail::backend_wait,
      &detail::backend_stop,       &detail::backend_destroy,  &detail::backend_capabilities<T>,
      &detail::backend_diagnose<T>};
  return &table;
}

}  // namespace voidbox::sdk
