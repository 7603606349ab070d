#include "voidbox/virtio/device_thread.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace voidbox::virtio {

namespace {

// epoll tokens: queue indices are below 2^16, so these never collide.
constexpr std::uint64_t kStopToken = 1ull << 32;
constexpr std::uint64_t kResampleToken = kStopToken + 1;

void drain(int fd) {
  std::uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

DeviceThread::DeviceThread(MmioTransport& transport, Options options)
    : transport_(transport), options_(std::move(options)) {}

std::expected<std::unique_ptr<DeviceThread>, std::string> DeviceThread::start(
    MmioTransport& transport, Options options) {
  if (options.queue_notify_fds.size() > 0xffff) {
    return std::unexpected(std::string("device thread: too many queues"));
  }
  std::unique_ptr<DeviceThread> t(new DeviceThread(transport, std::move(options)));
  t->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (t->epoll_fd_ < 0) return std::unexpected(errno_text("device thread: epoll_create1"));
  t->stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->stop_fd_ < 0) return std::unexpected(errno_text("device thread: eventfd"));
  auto watch = [&](int fd, std::uint64_t token) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    return ::epoll_ctl(t->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
  };
  if (!watch(t->stop_fd_, kStopToken)) return std::unexpected(errno_text("device thread: epoll"));
  for (std::size_t q = 0; q < t->options_.queue_notify_fds.size(); ++q) {
    const int fd = t->options_.queue_notify_fds[q];
    if (fd >= 0 && !watch(fd, q)) return std::unexpected(errno_text("device thread: epoll"));
  }
  if (t->options_.resample_fd >= 0 && !watch(t->options_.resample_fd, kResampleToken)) {
    return std::unexpected(errno_text("device thread: epoll"));
  }
  t->thread_ = std::thread([self = t.get()] {
    ::pthread_setname_np(::pthread_self(), self->options_.name.substr(0, 15).c_str());
    self->run();
    self->exited_.store(true, std::memory_order_release);
  });
  return t;
}

DeviceThread::~DeviceThread() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool DeviceThread::stop(std::chrono::milliseconds deadline) {
  if (!thread_.joinable()) return true;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!exited_.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  thread_.join();
  return true;
}

void DeviceThread::run() {
  epoll_event events[16];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // cannot wait any more; stop() still sees the thread end
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t token = events[i].data.u64;
      if (token == kStopToken) return;
      if (token == kResampleToken) {
        drain(options_.resample_fd);
        if (options_.on_resample) options_.on_resample();
        continue;
      }
      // Any other token is a queue index start() registered, so in range.
      drain(options_.queue_notify_fds[token]);
      notifies_.fetch_add(1, std::memory_order_relaxed);
      const auto start = std::chrono::steady_clock::now();
      transport_.handle_notify(static_cast<std::uint16_t>(token));
      busy_ns_.fetch_add(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count()),
          std::memory_order_relaxed);
    }
  }
}

}  // namespace voidbox::virtio
