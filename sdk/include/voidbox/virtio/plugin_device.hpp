// Host side: wraps a device plugin's vb_device_vtable as a virtio::Device, so
// the MMIO transport treats in-process devices (vsock) and plugin devices
// (blk) the same way:
//
//   auto dev = voidbox::virtio::PluginDevice::create(vtable, config_json);
//   if (!dev) fail(dev.error());
//   MmioTransport transport(std::move(*dev), memory, irq);
//
// The plugin's library must stay loaded while the PluginDevice lives.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/abi/device.h"
#include "voidbox/virtio/device.hpp"

namespace voidbox::virtio {

class PluginDevice final : public Device {
 public:
  // Validates the vtable (struct_size, no null entries) and calls create().
  static std::expected<std::unique_ptr<PluginDevice>, std::string> create(
      const vb_device_vtable* vtable, std::string_view config_json);
  ~PluginDevice() override;

  std::uint32_t device_type() const override { return device_type_; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return max_sizes_; }
  std::uint64_t device_features() const override { return features_; }
  void ack_features(std::uint64_t features) override;
  std::uint32_t config_size() const override { return config_size_; }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override;
  void write_config(std::uint32_t offset, std::span<const std::byte> in) override;
  std::expected<void, std::string> activate(const ActivateParams& params) override;
  void queue_notify(std::uint16_t queue) override;
  void reset() override;

  // Network devices (voidbox/abi/transport.h); false/NULL/no-op otherwise.
  bool has_frames() const;
  const vb_frame_port* frame_port() const;
  void set_peer(const vb_frame_port* peer);

 private:
  PluginDevice(const vb_device_vtable* vtable, vb_device* device);
  static void on_signal(void* ctx, std::uint32_t kind, std::uint32_t queue);

  const vb_device_vtable* vtable_;
  vb_device* device_;
  std::uint32_t device_type_ = 0;
  std::uint64_t features_ = 0;
  std::uint32_t config_size_ = 0;
  std::vector<std::uint16_t> max_sizes_;
  Interrupt* interrupt_ = nullptr;
  vb_device_host host_{};
};

}  // namespace voidbox::virtio
