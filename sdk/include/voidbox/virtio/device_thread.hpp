// One event-loop thread per device: it waits (epoll) on the device's
// queue-notify eventfds and on an optional interrupt-resample eventfd, and
// calls into the MmioTransport from its own thread. A VMM that registers the
// notify eventfds as KVM ioeventfds (address base + kQueueNotifyOffset,
// datamatch = queue index) thus runs every queue_notify(), and so the
// device's request work (a virtio-blk pread, say), off the vCPU threads, and
// the vCPU does not even leave the kernel for a notify.
//
//   DeviceThread::Options o{.queue_notify_fds = {fd_q0, fd_q1}, .name = "dev-blk"};
//   auto thread = DeviceThread::start(transport, std::move(o));
//   ...
//   if (!(*thread)->stop(std::chrono::milliseconds(500))) { /* still busy */ }
//
// The fds are borrowed: they must outlive the thread. The transport must too.
// on_resample runs on the loop thread, each time resample_fd becomes readable
// (after its counter is drained); the VMM uses it to re-assert a level
// interrupt the guest acknowledged only in part.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "voidbox/virtio/mmio_transport.hpp"

namespace voidbox::virtio {

class DeviceThread {
 public:
  struct Options {
    std::vector<int> queue_notify_fds;  // index = queue number; -1 = not watched
    int resample_fd = -1;
    std::function<void()> on_resample;
    std::string name = "virtio-dev";  // thread name, cut to 15 bytes
  };

  static std::expected<std::unique_ptr<DeviceThread>, std::string> start(MmioTransport& transport,
                                                                         Options options);
  // Stops and joins (unbounded: call stop() with a deadline first).
  ~DeviceThread();
  DeviceThread(const DeviceThread&) = delete;
  DeviceThread& operator=(const DeviceThread&) = delete;

  // Asks the loop to end and waits until it has, at most `deadline`. The loop
  // checks between device calls, so a device stuck inside one call makes this
  // return false; the thread is joined once it has ended.
  bool stop(std::chrono::milliseconds deadline);
  // Notifies delivered to the transport (one per wakeup of a queue's eventfd,
  // however many guest writes the kernel coalesced into it).
  std::uint64_t notifies() const { return notifies_.load(std::memory_order_relaxed); }
  // Time spent inside the transport serving those notifies (the device's
  // request work), for the VMM's exit summary.
  std::uint64_t busy_ns() const { return busy_ns_.load(std::memory_order_relaxed); }

 private:
  DeviceThread(MmioTransport& transport, Options options);
  void run();

  MmioTransport& transport_;
  Options options_;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::atomic<bool> exited_{false};
  std::atomic<std::uint64_t> notifies_{0};
  std::atomic<std::uint64_t> busy_ns_{0};
  std::thread thread_;
};

}  // namespace voidbox::virtio
