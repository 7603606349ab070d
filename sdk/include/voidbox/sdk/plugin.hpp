// Defining a plugin in C++: the descriptor, the entry symbol, a typed
// registrar, and logging back into the host.
//
//   voidbox::sdk::Result<> init(voidbox::sdk::Registrar& registrar) {
//     return registrar.add_exporter("jsonl", voidbox::sdk::exporter_vtable<JsonlExporter>());
//   }
//   VOIDBOX_DEFINE_PLUGIN("exporter-jsonl", "1.0.0", "JSON lines to a file", init)
//
// Build with hidden visibility (voidbox_sdk_add_plugin does) so the entry
// symbol is the library's only export.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>

#include "voidbox/abi/device.h"
#include "voidbox/abi/image_source.h"
#include "voidbox/abi/transport.h"
#include "voidbox/plugin_abi.h"
#include "voidbox/sdk/error.hpp"
#include "voidbox/sdk/guard.hpp"

namespace voidbox::sdk {

// Forwards messages to the host's log. Usable from any thread between init
// and shutdown; before or after that, messages are dropped.
class Log {
 public:
  static void write(vb_log_level level, std::string_view message) noexcept {
    auto fn = state().fn.load(std::memory_order_acquire);
    if (fn == nullptr) return;
    try {
      std::string copy(message);  // the host wants a NUL-terminated string
      fn(state().ctx.load(std::memory_order_relaxed), level, copy.c_str());
    } catch (...) {
    }
  }
  static void trace(std::string_view m) noexcept { write(VB_LOG_TRACE, m); }
  static void debug(std::string_view m) noexcept { write(VB_LOG_DEBUG, m); }
  static void info(std::string_view m) noexcept { write(VB_LOG_INFO, m); }
  static void warn(std::string_view m) noexcept { write(VB_LOG_WARN, m); }
  static void error(std::string_view m) noexcept { write(VB_LOG_ERROR, m); }

  // Called by the generated init/shutdown.
  static void attach(const vb_registrar* registrar) noexcept {
    if (registrar == nullptr ||
        registrar->struct_size < offsetof(vb_registrar, log) + sizeof registrar->log)
      return;
    state().ctx.store(registrar->host_ctx, std::memory_order_relaxed);
    state().fn.store(registrar->log, std::memory_order_release);
  }
  static void detach() noexcept { state().fn.store(nullptr, std::memory_order_release); }

 private:
  using Fn = void (*)(void*, vb_log_level, const char*);
  struct State {
    std::atomic<Fn> fn{nullptr};
    std::atomic<void*> ctx{nullptr};
  };
  // One per plugin: the SDK is compiled into each plugin with hidden
  // visibility and plugins are loaded RTLD_LOCAL.
  static State& state() noexcept {
    static State s;
    return s;
  }
};

// A typed view of the host's registrar, valid during init only.
class Registrar {
 public:
  explicit Registrar(const vb_registrar* registrar) noexcept : r_(registrar) {}

  std::uint32_t host_abi_major() const noexcept { return r_->host_abi_major; }
  std::uint32_t host_abi_minor() const noexcept { return r_->host_abi_minor; }

  // Registers a factory; fails if the host refused it (e.g. the name is taken).
  Result<> add(vb_kind kind, const char* name, const void* vtable) const {
    vb_status status = r_->register_factory(r_->host_ctx, kind, name, vtable);
    if (status == VB_OK) return {};
    return fail(status, std::string("host refused factory '") + name + "': " + status_name(status));
  }
  Result<> add_backend(const char* name, const vb_backend_vtable* vtable) const {
    return add(VB_KIND_BACKEND, name, vtable);
  }
  Result<> add_exporter(const char* name, const vb_exporter_vtable* vtable) const {
    return add(VB_KIND_EXPORTER, name, vtable);
  }
  // `name` is what a VM config's devices[].type names, e.g. "virtio-blk".
  Result<> add_device(const char* name, const vb_device_vtable* vtable) const {
    return add(VB_KIND_DEVICE, name, vtable);
  }
  // `name` is what a VM config's network.transport names, e.g. "slirp".
  Result<> add_transport(const char* name, const vb_transport_vtable* vtable) const {
    return add(VB_KIND_TRANSPORT, name, vtable);
  }
  Result<> add_image_source(const char* name, const vb_image_source_vtable* vtable) const {
    return add(VB_KIND_IMAGE_SOURCE, name, vtable);
  }

  const vb_registrar* raw() const noexcept { return r_; }

 private:
  const vb_registrar* r_;
};

namespace detail {

template <Result<> (*Init)(Registrar&)>
vb_status plugin_init(const vb_registrar* registrar, vb_error* error) noexcept {
  if (registrar == nullptr ||
      registrar->struct_size < offsetof(vb_registrar, log) + sizeof registrar->log ||
      registrar->register_factory == nullptr) {
    write_error(error, "host passed an incomplete registrar");
    return VB_ERR_INVALID_ARGUMENT;
  }
  Log::attach(registrar);
  vb_status status = guarded(error, [&]() -> Result<> {
    Registrar typed(registrar);
    return Init(typed);
  });
  if (status != VB_OK) Log::detach();
  return status;
}

template <void (*Shutdown)()>
void plugin_shutdown() noexcept {
  if constexpr (Shutdown != nullptr) {
    try {
      Shutdown();
    } catch (...) {
    }
  }
  Log::detach();
}

}  // namespace detail
}  // namespace voidbox::sdk

// Defines the descriptor and the exported `voidbox_plugin_entry`. `init_fn`
// is `voidbox::sdk::Result<> init_fn(voidbox::sdk::Registrar&)`; `shutdown_fn`
// is `void shutdown_fn()` (or nullptr), called after every object is gone.
#define VOIDBOX_DEFINE_PLUGIN_WITH_SHUTDOWN(name, version, description, init_fn, shutdown_fn) \
  namespace {                                                                                 \
  constexpr vb_plugin_descriptor voidbox_sdk_descriptor = {                                   \
      sizeof(vb_plugin_descriptor),                                                           \
      VOIDBOX_ABI_MAJOR,                                                                      \
      VOIDBOX_ABI_MINOR,                                                                      \
      name,                                                                                   \
      version,                                                                                \
      description,                                                                            \
      &::voidbox::sdk::detail::plugin_init<init_fn>,                                          \
      &::voidbox::sdk::detail::plugin_shutdown<shutdown_fn>};                                 \
  }                                                                                           \
  extern "C" VOIDBOX_PLUGIN_EXPORT const vb_plugin_descriptor* voidbox_plugin_entry(void) {   \
    return &voidbox_sdk_descriptor;                                                           \
  }

#define VOIDBOX_DEFINE_PLUGIN(name, version, description, init_fn) \
  VOIDBOX_DEFINE_PLUGIN_WITH_SHUTDOWN(name, version, description, init_fn, nullptr)
