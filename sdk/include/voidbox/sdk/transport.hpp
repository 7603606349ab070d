// Writing a transport (voidbox/abi/transport.h) as a C++ class. Implement
// `Transport`, give the class
//
//   static voidbox::sdk::Result<std::unique_ptr<MyTransport>>
//   create(std::string_view config_json, const vb_frame_port& to_guest);
//
// and register `transport_vtable<MyTransport>()`. `to_guest` is checked
// (non-null, complete, with a send function) before create sees it; the
// transport may keep the reference until it is destroyed. Exceptions are
// caught at the edge and reported as VB_ERR_INTERNAL.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "voidbox/abi/transport.h"
#include "voidbox/sdk/error.hpp"
#include "voidbox/sdk/guard.hpp"

namespace voidbox::sdk {

class Transport {
 public:
  virtual ~Transport() = default;
  // Where the device sends guest frames; valid and thread-safe until the
  // transport is destroyed.
  virtual const vb_frame_port* port() noexcept = 0;
  virtual Result<> start() = 0;
  // A JSON object; called from any thread.
  virtual std::string describe() = 0;
};

namespace detail {

inline Transport* as_transport(vb_transport* handle) noexcept {
  return reinterpret_cast<Transport*>(handle);
}

inline bool usable_port(const vb_frame_port* port) noexcept {
  return port != nullptr && port->struct_size >= sizeof(vb_frame_port) && port->send != nullptr;
}

template <class T>
vb_status transport_create(const char* config, size_t config_len, const vb_frame_port* to_guest,
                           vb_transport** out, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (out == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null output handle");
    *out = nullptr;
    if (!usable_port(to_guest)) {
      return fail(VB_ERR_INVALID_ARGUMENT, "to_guest is not a complete frame port");
    }
    std::string_view json =
        config == nullptr ? std::string_view() : std::string_view(config, config_len);
    auto made = T::create(json, *to_guest);  // Result<std::unique_ptr<T>>
    if (!made) return std::unexpected(std::move(made.error()));
    if (*made == nullptr) return fail(VB_ERR_INTERNAL, "create returned no transport");
    Transport* base = made->release();
    *out = reinterpret_cast<vb_transport*>(base);
    return {};
  });
}

inline const vb_frame_port* transport_port(vb_transport* handle) noexcept {
  if (handle == nullptr) return nullptr;
  return as_transport(handle)->port();
}

inline vb_status transport_start(vb_transport* handle, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (handle == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null transport");
    return as_transport(handle)->start();
  });
}

// The ABI's contract: the full length is returned even when it does not fit,
// so the caller can retry with a bigger buffer.
inline size_t transport_describe(vb_transport* handle, char* buf, size_t capacity) noexcept {
  std::string text;
  try {
    text = handle == nullptr ? std::string("{}") : as_transport(handle)->describe();
  } catch (...) {
    text = "{}";
  }
  if (buf != nullptr && capacity > text.size()) {
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
  } else if (buf != nullptr && capacity > 0) {
    buf[0] = '\0';
  }
  return text.size();
}

inline void transport_destroy(vb_transport* handle) noexcept {
  try {
    delete as_transport(handle);
  } catch (...) {
  }
}

}  // namespace detail

template <class T>
const vb_transport_vtable* transport_vtable() noexcept {
  static_assert(std::is_base_of_v<Transport, T>, "T must derive from voidbox::sdk::Transport");
  static constexpr vb_transport_vtable table = {
      sizeof(vb_transport_vtable), &detail::transport_create<T>, &detail::transport_port,
      &detail::transport_start,    &detail::transport_describe,  &detail::transport_destroy};
  return &table;
}

}  // namespace voidbox::sdk
