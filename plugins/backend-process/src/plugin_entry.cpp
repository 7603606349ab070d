// The C ABI face of the "process" backend. Nothing thrown crosses it.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "process_vm.hpp"
#include "voidbox/plugin_abi.h"

struct vb_vm {
  voidbox::process_backend::ProcessVm impl;
};

namespace {

using voidbox::process_backend::ProcessVm;

// The registrar itself is only valid during init; its log hook and context
// stay valid until shutdown.
void (*g_log)(void*, vb_log_level, const char*) = nullptr;
void* g_log_ctx = nullptr;

void set_error(vb_error* error, const std::string& message) {
  if (error == nullptr || error->message == nullptr || error->capacity == 0) return;
  std::snprintf(error->message, error->capacity, "%s", message.c_str());
}

void log_line(vb_log_level level, const std::string& message) {
  if (g_log != nullptr) g_log(g_log_ctx, level, message.c_str());
}

template <typename F>
vb_status guarded(vb_error* error, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    set_error(error, std::string("backend-process: ") + e.what());
  } catch (...) {
    set_error(error, "backend-process: unknown failure");
  }
  return VB_ERR_INTERNAL;
}

vb_status probe(vb_error*) {
  return VB_OK;
}

vb_status create(const char* config_json, size_t config_len, vb_vm** out, vb_error* error) {
  return guarded(error, [&] {
    if (config_json == nullptr || out == nullptr) {
      set_error(error, "create: null argument");
      return VB_ERR_INVALID_ARGUMENT;
    }
    auto config = voidbox::process_backend::parse_config({config_json, config_len});
    if (!config) {
      set_error(error, config.error());
      return VB_ERR_INVALID_ARGUMENT;
    }
    *out = new vb_vm{ProcessVm(std::move(*config))};
    return VB_OK;
  });
}

vb_status start(vb_vm* vm, vb_error* error) {
  return guarded(error, [&] {
    auto r = vm->impl.start();
    if (!r) {
      set_error(error, r.error());
      return VB_ERR_IO;
    }
    log_line(VB_LOG_INFO,
             "process backend (NO VM, not a security boundary): " + vm->impl.confinement_note());
    return VB_OK;
  });
}

vb_status connect(vb_vm* vm, uint32_t port, int* fd_out, vb_error* error) {
  return guarded(error, [&] {
    auto fd = vm->impl.connect(port);
    if (!fd) {
      set_error(error, fd.error());
      return VB_ERR_IO;
    }
    *fd_out = *fd;
    return VB_OK;
  });
}

vb_status wait(vb_vm* vm, int32_t timeout_ms, vb_exit_info* out) {
  return guarded(nullptr, [&] {
    vb_exit_info info = vm->impl.wait(timeout_ms);
    if (out != nullptr) {
      size_t n =
          out->struct_size != 0 && out->struct_size < sizeof info ? out->struct_size : sizeof info;
      size_t caller_size = out->struct_size;
      std::memcpy(out, &info, n);
      out->struct_size = caller_size != 0 ? n : sizeof info;
    }
    return info.reason == VB_EXIT_RUNNING ? VB_ERR_TIMEOUT : VB_OK;
  });
}

vb_status stop(vb_vm* vm, int32_t timeout_ms, vb_error* error) {
  return guarded(error, [&] {
    vm->impl.stop(timeout_ms);
    return VB_OK;
  });
}

void destroy(vb_vm* vm) {
  try {
    delete vm;
  } catch (...) {
  }
}

constexpr vb_backend_vtable kVtable = {
    sizeof(vb_backend_vtable), probe, create, start, connect, wait, stop, destroy,
};

vb_status init(const vb_registrar* registrar, vb_error* error) {
  g_log = registrar->log;
  g_log_ctx = registrar->host_ctx;
  vb_status s =
      registrar->register_factory(registrar->host_ctx, VB_KIND_BACKEND, "process", &kVtable);
  if (s != VB_OK) set_error(error, "backend name 'process' is already registered");
  return s;
}

void shutdown() {
  g_log = nullptr;
  g_log_ctx = nullptr;
}

constexpr vb_plugin_descriptor kDescriptor = {
    sizeof(vb_plugin_descriptor),
    VOIDBOX_ABI_MAJOR,
    VOIDBOX_ABI_MINOR,
    "backend-process",
    "0.1.0",
    "NO VM: guest agent as a local namespaced process (development; not a security boundary)",
    init,
    shutdown,
};

}  // namespace

extern "C" VOIDBOX_PLUGIN_EXPORT const vb_plugin_descriptor* voidbox_plugin_entry(void) {
  return &kDescriptor;
}
