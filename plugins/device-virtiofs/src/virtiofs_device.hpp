// virtio-fs (virtio 1.2 §5.11) with the FUSE server of fuse_server.hpp:
// queue 0 is the high-priority queue (FORGET, BATCH_FORGET), queue 1 the one
// request queue; config space = tag[36] + le32 num_request_queues.
//
// queue_notify() only pops chains and copies each request out of guest
// memory (at most kMaxRequest bytes); a small pool of worker threads serves
// them, so used entries complete out of order and a read blocked on a slow
// file does not hold up a getattr behind it. A worker writes its reply and
// returns the chain under the queue lock, and only while the activation it
// was popped under is still current: reset() bumps that generation, so it
// returns at once even while a worker is blocked in host I/O, and that
// worker's late reply is dropped.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fuse_server.hpp"
#include "voidbox/virtio/device.hpp"

namespace voidbox::virtiofs {

inline constexpr std::size_t kTagBytes = 36;  // virtio_fs_config.tag
inline constexpr std::size_t kConfigBytes = kTagBytes + 4;
inline constexpr std::uint16_t kHiprioQueue = 0;
inline constexpr std::uint16_t kRequestQueue = 1;

struct DeviceConfig {
  std::string tag;
  ServerConfig server;
  std::uint16_t queue_size = 128;
  unsigned workers = 4;
};

// {"tag": "voidbox0", "path": "/host/dir", "readonly": true,
//  "owner_uid": 1000, "owner_gid": 1000, "queue_size": 128, "workers": 4}
std::expected<DeviceConfig, std::string> parse_device_config(std::string_view json);

class VirtiofsDevice final : public virtio::Device {
 public:
  static std::expected<std::unique_ptr<VirtiofsDevice>, std::string> create(std::string_view json);
  static std::expected<std::unique_ptr<VirtiofsDevice>, std::string> open(DeviceConfig config);
  ~VirtiofsDevice() override;

  std::uint32_t device_type() const override { return virtio::kDeviceIdFs; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return queue_sizes_; }
  std::uint64_t device_features() const override;
  void ack_features(std::uint64_t) override {}
  std::uint32_t config_size() const override { return kConfigBytes; }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override;
  void write_config(std::uint32_t, std::span<const std::byte>) override {}
  std::expected<void, std::string> activate(const virtio::ActivateParams& params) override;
  void queue_notify(std::uint16_t queue) override;
  void reset() override;

  Server& server() { return *server_; }

 private:
  struct Job {
    std::uint64_t generation = 0;
    std::uint16_t queue = 0;
    virtio::DescriptorChain chain;
    std::vector<std::byte> request;
  };

  VirtiofsDevice(DeviceConfig config, std::unique_ptr<Server> server);
  void work();
  void complete(const Job& job, const std::vector<std::byte>& reply);
  void broken();  // with queue_mu_ held

  DeviceConfig cfg_;
  std::unique_ptr<Server> server_;
  std::array<std::uint16_t, 2> queue_sizes_;
  std::array<std::byte, kConfigBytes> config_{};

  std::mutex queue_mu_;  // guards queues_, interrupt_, generation_
  std::array<std::optional<virtio::Virtqueue>, 2> queues_;
  virtio::Interrupt* interrupt_ = nullptr;
  std::uint64_t generation_ = 0;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace voidbox::virtiofs
