// virtio-blk (virtio 1.2 §5.2) over a disk image (DiskOps; raw files today):
// 512-byte sectors, one request queue, read-only or read-write, FLUSH and
// GET_ID.
//
// Requests are served in queue_notify(), with one vectored read or write per
// request straight into or out of guest memory. The host decides the thread:
// on voidbox-vmm's event path that is the device's own thread (woken by a
// KVM ioeventfd), on the sync path the vCPU that wrote QueueNotify.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "disk_ops.hpp"
#include "voidbox/virtio/device.hpp"

namespace voidbox::blk {

inline constexpr std::uint32_t kSectorSize = 512;

struct BlkConfig {
  std::string path;
  bool read_only = true;
  std::string id;  // GET_ID serial (at most 20 bytes); defaults to the file name
  std::uint16_t queue_size = 256;
  std::uint32_t max_request_bytes = 4 << 20;  // per request, data only
};

// Parses {"path": "...", "read_only": bool, "id": "...", "queue_size": n}.
std::expected<BlkConfig, std::string> parse_blk_config(std::string_view json);

class BlkDevice final : public virtio::Device {
 public:
  static std::expected<std::unique_ptr<BlkDevice>, std::string> create(std::string_view json);
  static std::expected<std::unique_ptr<BlkDevice>, std::string> open(BlkConfig config);
  // Over an already open image (another format, or a test double).
  static std::unique_ptr<BlkDevice> over(BlkConfig config, std::unique_ptr<DiskOps> disk);
  ~BlkDevice() override;

  std::uint32_t device_type() const override { return virtio::kDeviceIdBlock; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return {&queue_size_, 1}; }
  std::uint64_t device_features() const override;
  void ack_features(std::uint64_t features) override { features_ = features; }
  std::uint32_t config_size() const override { return static_cast<std::uint32_t>(config_.size()); }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override;
  void write_config(std::uint32_t, std::span<const std::byte>) override {}
  std::expected<void, std::string> activate(const virtio::ActivateParams& params) override;
  void queue_notify(std::uint16_t queue) override;
  void reset() override;

  std::uint64_t capacity_sectors() const { return capacity_; }

 private:
  BlkDevice(BlkConfig config, std::unique_ptr<DiskOps> disk);
  // Serves one chain; returns the bytes written into its writable part.
  std::uint32_t serve(const virtio::DescriptorChain& chain);

  BlkConfig cfg_;
  std::unique_ptr<DiskOps> disk_;
  std::uint64_t capacity_;
  std::uint16_t queue_size_;
  std::uint64_t features_ = 0;
  std::array<std::byte, 24> config_{};
  std::optional<virtio::Virtqueue> queue_;
  std::vector<DiskBuffer> buffers_;  // reused per request
  virtio::Interrupt* interrupt_ = nullptr;
  bool broken_ = false;
};

}  // namespace voidbox::blk
