// Plugin side: exposes a C++ virtio::Device as a vb_device_vtable.
//
//   class BlkDevice : public voidbox::virtio::Device {
//    public:
//     static std::expected<std::unique_ptr<BlkDevice>, std::string>
//     create(std::string_view config_json);
//     ...
//   };
//   registrar->register_factory(ctx, VB_KIND_DEVICE, "virtio-blk",
//                               voidbox::virtio::device_vtable<BlkDevice>());
//
// Every entry point catches all exceptions: nothing C++ crosses the boundary.
#pragma once

#include <concepts>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/abi/device.h"
#include "voidbox/sdk/error.hpp"
#include "voidbox/virtio/device.hpp"

namespace voidbox::virtio {

namespace plugin_detail {

inline void set_error(vb_error* error, const char* message) {
  voidbox::sdk::write_error(error, message);
}

// Forwards Interrupt calls to the host's C callback.
class HostInterrupt final : public Interrupt {
 public:
  void bind(const vb_device_host* host) {
    signal_ = nullptr;
    ctx_ = nullptr;
    if (host == nullptr || host->struct_size < sizeof(vb_device_host)) return;
    signal_ = host->signal;
    ctx_ = host->ctx;
  }
  void signal_used_queue(std::uint16_t queue) override {
    if (signal_) signal_(ctx_, VB_DEVICE_SIGNAL_USED_QUEUE, queue);
  }
  void signal_config_change() override {
    if (signal_) signal_(ctx_, VB_DEVICE_SIGNAL_CONFIG_CHANGE, 0);
  }
  void signal_needs_reset() override {
    if (signal_) signal_(ctx_, VB_DEVICE_SIGNAL_NEEDS_RESET, 0);
  }

 private:
  void (*signal_)(void*, std::uint32_t, std::uint32_t) = nullptr;
  void* ctx_ = nullptr;
};

struct Handle {
  std::unique_ptr<Device> device;
  GuestMemory memory;
  std::vector<QueueConfig> queues;
  HostInterrupt interrupt;
};

inline Handle* handle(vb_device* d) {
  return reinterpret_cast<Handle*>(d);
}
inline const Handle* handle(const vb_device* d) {
  return reinterpret_cast<const Handle*>(d);
}

template <typename DeviceT>
vb_status create(const char* json, std::size_t len, vb_device** out, vb_error* error) noexcept {
  try {
    if (out == nullptr) return VB_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    auto dev = DeviceT::create(std::string_view(json == nullptr ? "" : json, json ? len : 0));
    if (!dev) {
      set_error(error, dev.error().c_str());
      return VB_ERR_INVALID_ARGUMENT;
    }
    auto h = std::make_unique<Handle>();
    h->device = std::move(*dev);
    *out = reinterpret_cast<vb_device*>(h.release());
    return VB_OK;
  } catch (const std::exception& e) {
    set_error(error, e.what());
  } catch (...) {
    set_error(error, "unknown exception");
  }
  return VB_ERR_INTERNAL;
}

inline std::uint32_t device_type(const vb_device* d) noexcept {
  return handle(d)->device->device_type();
}
inline std::uint32_t num_queues(const vb_device* d) noexcept {
  return static_cast<std::uint32_t>(handle(d)->device->queue_max_sizes().size());
}
inline std::uint16_t queue_max_size(const vb_device* d, std::uint32_t q) noexcept {
  auto sizes = handle(d)->device->queue_max_sizes();
  return q < sizes.size() ? sizes[q] : 0;
}
inline std::uint64_t features(const vb_device* d) noexcept {
  return handle(d)->device->device_features();
}
inline void ack_features(vb_device* d, std::uint64_t f) noexcept {
  try {
    handle(d)->device->ack_features(f);
  } catch (...) {
  }
}
inline std::uint32_t config_size(const vb_device* d) noexcept {
  return handle(d)->device->config_size();
}
inline bool config_in_bounds(const vb_device* d, std::uint32_t offset, std::size_t len) {
  const std::uint64_t size = handle(d)->device->config_size();
  return offset <= size && len <= size - offset;
}
inline vb_status config_read(vb_device* d, std::uint32_t offset, void* data,
                             std::size_t len) noexcept {
  if (data == nullptr || !config_in_bounds(d, offset, len)) return VB_ERR_INVALID_ARGUMENT;
  try {
    handle(d)->device->read_config(offset, {static_cast<std::byte*>(data), len});
    return VB_OK;
  } catch (...) {
    return VB_ERR_INTERNAL;
  }
}
inline vb_status config_write(vb_device* d, std::uint32_t offset, const void* data,
                              std::size_t len) noexcept {
  if (data == nullptr || !config_in_bounds(d, offset, len)) return VB_ERR_INVALID_ARGUMENT;
  try {
    handle(d)->device->write_config(offset, {static_cast<const std::byte*>(data), len});
    return VB_OK;
  } catch (...) {
    return VB_ERR_INTERNAL;
  }
}

inline vb_status activate(vb_device* d, const vb_device_activation* a, vb_error* error) noexcept {
  try {
    if (a == nullptr || a->struct_size < sizeof(vb_device_activation) ||
        (a->num_regions > 0 && a->regions == nullptr) ||
        (a->num_queues > 0 && a->queues == nullptr)) {
      set_error(error, "invalid activation");
      return VB_ERR_INVALID_ARGUMENT;
    }
    Handle* h = handle(d);
    std::vector<MemoryRegion> regions;
    for (std::size_t i = 0; i < a->num_regions; ++i) {
      regions.push_back({a->regions[i].guest_phys_addr, a->regions[i].size,
                         static_cast<std::byte*>(a->regions[i].host_addr)});
    }
    h->memory = GuestMemory(regions);
    h->queues.clear();
    for (std::size_t i = 0; i < a->num_queues; ++i) {
      const vb_queue_config& q = a->queues[i];
      if (q.struct_size < sizeof(vb_queue_config)) {
        set_error(error, "invalid queue config");
        return VB_ERR_INVALID_ARGUMENT;
      }
      h->queues.push_back({q.size, q.ready != 0, q.desc_addr, q.avail_addr, q.used_addr});
    }
    h->interrupt.bind(a->host);
    ActivateParams params{h->memory, h->queues, a->driver_features, h->interrupt};
    auto result = h->device->activate(params);
    if (!result) {
      set_error(error, result.error().c_str());
      return VB_ERR_GUEST;
    }
    return VB_OK;
  } catch (const std::exception& e) {
    set_error(error, e.what());
  } catch (...) {
    set_error(error, "unknown exception");
  }
  return VB_ERR_INTERNAL;
}

inline void queue_notify(vb_device* d, std::uint32_t q) noexcept {
  try {
    if (q < num_queues(d)) handle(d)->device->queue_notify(static_cast<std::uint16_t>(q));
  } catch (...) {
    handle(d)->interrupt.signal_needs_reset();
  }
}
inline void reset(vb_device* d) noexcept {
  try {
    handle(d)->device->reset();
  } catch (...) {
  }
  handle(d)->interrupt.bind(nullptr);
}
inline void destroy(vb_device* d) noexcept {
  if (d == nullptr) return;
  reset(d);
  delete handle(d);
}

// Network devices (voidbox/abi/transport.h) also provide
//   const vb_frame_port* frame_port();          // frames for the guest
//   void set_peer(const vb_frame_port* peer);   // where guest frames go
template <typename DeviceT>
concept FrameDevice = requires(DeviceT& d, const vb_frame_port* peer) {
  { d.frame_port() } -> std::same_as<const vb_frame_port*>;
  d.set_peer(peer);
};

template <typename DeviceT>
const vb_frame_port* frame_port(vb_device* d) noexcept {
  return static_cast<DeviceT*>(handle(d)->device.get())->frame_port();
}
template <typename DeviceT>
void set_peer(vb_device* d, const vb_frame_port* peer) noexcept {
  try {
    static_cast<DeviceT*>(handle(d)->device.get())->set_peer(peer);
  } catch (...) {
  }
}

template <typename DeviceT>
constexpr auto frame_port_entry() {
  if constexpr (FrameDevice<DeviceT>) {
    return &frame_port<DeviceT>;
  } else {
    return static_cast<const vb_frame_port* (*)(vb_device*)>(nullptr);
  }
}
template <typename DeviceT>
constexpr auto set_peer_entry() {
  if constexpr (FrameDevice<DeviceT>) {
    return &set_peer<DeviceT>;
  } else {
    return static_cast<void (*)(vb_device*, const vb_frame_port*)>(nullptr);
  }
}

}  // namespace plugin_detail

// A vtable with static storage for DeviceT (see the example at the top).
template <typename DeviceT>
const vb_device_vtable* device_vtable() {
  static const vb_device_vtable vtable = {
      sizeof(vb_device_vtable),
      &plugin_detail::create<DeviceT>,
      &plugin_detail::device_type,
      &plugin_detail::num_queues,
      &plugin_detail::queue_max_size,
      &plugin_detail::features,
      &plugin_detail::ack_features,
      &plugin_detail::config_size,
      &plugin_detail::config_read,
      &plugin_detail::config_write,
      &plugin_detail::activate,
      &plugin_detail::queue_notify,
      &plugin_detail::reset,
      &plugin_detail::destroy,
      plugin_detail::frame_port_entry<DeviceT>(),
      plugin_detail::set_peer_entry<DeviceT>(),
  };
  return &vtable;
}

}  // namespace voidbox::virtio
