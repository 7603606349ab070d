#include "transport/slirp_transport.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "transport/host_info.hpp"
#include "voidbox/sdk/plugin.hpp"

namespace voidbox::net {
namespace {

// The longest frame a guest may send: the MTU plus the Ethernet header and
// one VLAN tag.
constexpr std::size_t kFrameOverhead = 18;

void wake(int fd) {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop wakes anyway.
  [[maybe_unused]] ssize_t ignored = ::write(fd, &one, sizeof one);
}

}  // namespace

sdk::Result<std::unique_ptr<SlirpTransport>> SlirpTransport::create(std::string_view config_json,
                                                                    const vb_frame_port& to_guest) {
  auto config = parse_transport_config(config_json);
  if (!config) return std::unexpected(std::move(config.error()));
  if (!config->dns_upstream) config->dns_upstream = system_nameserver();
  if (config->policy.allow_domains && !config->dns_upstream) {
    return sdk::fail(VB_ERR_INVALID_ARGUMENT,
                     "net-slirp config: policy.allow_domains needs a DNS server: set dns_upstream "
                     "or add a nameserver to /etc/resolv.conf");
  }
  config->policy.host_addresses = host_ipv4_addresses();
  config->policy.resolve_all_dns = true;
  sdk::UniqueFd wake_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd) return sdk::fail_errno(VB_ERR_IO, "net-slirp: eventfd");
  return std::unique_ptr<SlirpTransport>(
      new SlirpTransport(std::move(*config), to_guest, std::move(wake_fd)));
}

SlirpTransport::SlirpTransport(TransportConfig config, const vb_frame_port& to_guest,
                               sdk::UniqueFd wake_fd)
    : config_(std::move(config)),
      to_guest_(to_guest),
      port_{sizeof(vb_frame_port), this, &SlirpTransport::receive},
      wake_(std::move(wake_fd)),
      resolver_(std::make_unique<UpstreamResolver>(config_.dns_upstream)) {
  filter_ = std::make_unique<FrameFilter>(
      config_.policy,
      FilterHooks{[this](std::span<const std::uint8_t> frame) { send_to_guest(frame); },
                  [this](const Denial& denial) { on_denial(denial); }, nullptr, resolver_.get()});
  status_.set_forwards(config_.forwards);
}

SlirpTransport::~SlirpTransport() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) {
    wake(wake_.get());
    thread_.join();
  }
  // The loop has ended, so tearing down on this thread races with nothing;
  // libslirp closes its sockets, forwarded listeners included.
  stack_.reset();
  filter_.reset();
  resolver_.reset();
}

vb_status SlirpTransport::receive(void* ctx, const std::uint8_t* frame, size_t len) {
  auto* self = static_cast<SlirpTransport*>(ctx);
  if (frame == nullptr || len > VB_FRAME_MAX || len > self->config_.mtu + kFrameOverhead) {
    self->status_.oversize_drops.fetch_add(1, std::memory_order_relaxed);
    return VB_ERR_INVALID_ARGUMENT;
  }
  try {
    switch (self->queue_.push({frame, len})) {
      case FrameQueue::Push::queued_first:
        wake(self->wake_.get());
        return VB_OK;
      case FrameQueue::Push::queued:
        return VB_OK;
      case FrameQueue::Push::full:
        break;
    }
  } catch (...) {  // out of memory: dropped like a full queue
  }
  self->status_.queue_drops.fetch_add(1, std::memory_order_relaxed);
  return VB_ERR_IO;
}

void SlirpTransport::send_to_guest(std::span<const std::uint8_t> frame) {
  if (to_guest_.send(to_guest_.ctx, frame.data(), frame.size()) == VB_OK) {
    status_.frames_to_guest.fetch_add(1, std::memory_order_relaxed);
  } else {
    status_.to_guest_drops.fetch_add(1, std::memory_order_relaxed);
  }
}

void SlirpTransport::on_denial(const Denial& denial) {
  sdk::Log::warn(denial_message(denial));
  status_.add_denial(denial);
}

sdk::Result<PortForward> SlirpTransport::add_forward(const PortForward& requested) {
  const int attempts = requested.host_port == 0 ? kPortPickAttempts : 1;
  sdk::Error last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    auto port = probe_port(requested.protocol, requested.host_address, requested.host_port);
    if (!port) {
      last = port.error();
      continue;
    }
    PortForward forward = requested;
    forward.host_port = *port;
    auto added = stack_->add_forward(forward);
    if (added) return forward;
    last = added.error();
  }
  last.message = "net-slirp: cannot listen for forward to guest port " +
                 std::to_string(requested.guest_port) + ": " + last.message;
  return std::unexpected(std::move(last));
}

sdk::Result<> SlirpTransport::start() {
  if (stack_ != nullptr) return sdk::fail(VB_ERR_INVALID_ARGUMENT, "net-slirp: already started");
  auto stack = SlirpStack::create(
      config_.mtu,
      {[this](std::span<const std::uint8_t> frame) { send_to_guest(frame); },
       [](std::string_view message) { sdk::Log::debug("libslirp: " + std::string(message)); }});
  if (!stack) return std::unexpected(std::move(stack.error()));
  stack_ = std::move(*stack);
  std::vector<PortForward> bound;
  for (const PortForward& requested : config_.forwards) {
    auto forward = add_forward(requested);
    if (!forward) {
      stack_.reset();  // closes the listeners already open
      return std::unexpected(std::move(forward.error()));
    }
    bound.push_back(*forward);
  }
  status_.set_forwards(bound);
  thread_ = std::thread([this] { run(); });
  return {};
}

bool SlirpTransport::drain_queue() {
  std::uint64_t count = 0;
  // Reset the wake-up before taking the frames: a frame queued after the
  // take wakes the next poll.
  [[maybe_unused]] ssize_t ignored = ::read(wake_.get(), &count, sizeof count);
  queue_.take(batch_);
  if (batch_.empty()) return false;
  for (const FrameQueue::Frame& frame : batch_) {
    if (stopping_.load(std::memory_order_acquire)) break;
    if (filter_->filter(frame) == Verdict::pass) stack_->input(frame);
  }
  queue_.recycle(batch_);
  return true;
}

void SlirpTransport::run() {
  std::vector<pollfd> fds;
  bool worked = true;  // frames were queued before start
  while (!stopping_.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    // After work, one round without sleeping lets libslirp flush what the
    // new frames produced (replies held for an ARP answer, say).
    int timeout_ms = worked ? 0 : -1;
    if (auto deadline = resolver_->next_deadline()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      const int wait = left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, INT_MAX));
      timeout_ms = timeout_ms < 0 ? wait : std::min(timeout_ms, wait);
    }
    resolver_->fill(fds);
    stack_->fill(fds, timeout_ms);
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    const bool failed = ready < 0 && errno != EINTR;
    if (stopping_.load(std::memory_order_acquire)) break;
    stack_->dispatch(fds, failed);
    resolver_->dispatch(fds);
    resolver_->expire(Clock::now());
    worked = drain_queue();
    status_.publish(filter_->counters());
  }
  status_.publish(filter_->counters());
}

}  // namespace voidbox::net
