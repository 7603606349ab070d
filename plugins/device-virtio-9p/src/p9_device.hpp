// virtio-9p (virtio 1.2 §5.3 with the 9P2000.L server of p9_server.hpp):
// one request queue, config space = le16 tag length + the mount tag.
//
// queue_notify() only pops chains and copies each request out of guest
// memory (at most the server's largest msize); a small pool of worker
// threads serves them, so used entries complete out of order and a read
// blocked on a slow file does not hold up a getattr behind it. A worker
// writes its reply into guest memory and returns the chain under the queue
// lock, and only while the activation it was popped under is still current:
// reset() bumps that generation, so it returns at once even while a worker
// is still blocked in host I/O, and that worker's late reply is dropped.
#pragma once

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

#include "p9_server.hpp"
#include "voidbox/virtio/device.hpp"

namespace voidbox::p9 {

inline constexpr std::uint64_t kFeatureMountTag = 1ull << 0;
inline constexpr std::size_t kMaxTagBytes = 31;

struct DeviceConfig {
  std::string tag;
  ServerConfig server;
  std::uint16_t queue_size = 128;
  unsigned workers = 4;
};

// {"tag": "voidbox0", "path": "/host/dir", "readonly": true,
//  "owner_uid": 1000, "owner_gid": 1000, "queue_size": 128, "workers": 4}
std::expected<DeviceConfig, std::string> parse_device_config(std::string_view json);

class NinepDevice final : public virtio::Device {
 public:
  static std::expected<std::unique_ptr<NinepDevice>, std::string> create(std::string_view json);
  static std::expected<std::unique_ptr<NinepDevice>, std::string> open(DeviceConfig config);
  ~NinepDevice() override;

  std::uint32_t device_type() const override { return virtio::kDeviceId9p; }
  std::span<const std::uint16_t> queue_max_sizes() const override { return {&queue_size_, 1}; }
  std::uint64_t device_features() const override;
  void ack_features(std::uint64_t) override {}
  std::uint32_t config_size() const override { return static_cast<std::uint32_t>(config_.size()); }
  void read_config(std::uint32_t offset, std::span<std::byte> out) const override;
  void write_config(std::uint32_t, std::span<const std::byte>) override {}
  std::expected<void, std::string> activate(const virtio::ActivateParams& params) override;
  void queue_notify(std::uint16_t queue) override;
  void reset() override;

  Server& server() { return *server_; }

 private:
  struct Job {
    std::uint64_t generation;
    virtio::DescriptorChain chain;
    std::vector<std::byte> request;
    std::uint16_t tag;
  };

  NinepDevice(DeviceConfig config, std::unique_ptr<Server> server);
  void work();
  void complete(const Job& job, const std::vector<std::byte>& reply);

  DeviceConfig cfg_;
  std::unique_ptr<Server> server_;
  std::uint16_t queue_size_;
  std::vector<std::byte> config_;

  std::mutex queue_mu_;  // guards queue_, interrupt_, generation_
  std::optional<virtio::Virtqueue> queue_;
  virtio::Interrupt* interrupt_ = nullptr;
  std::uint64_t generation_ = 0;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace voidbox::p9
