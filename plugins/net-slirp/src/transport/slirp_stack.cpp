#include "transport/slirp_stack.hpp"

#include <arpa/inet.h>
#include <libslirp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <ctime>

#include "filter/net_types.hpp"

namespace voidbox::net {

struct SlirpStack::Timer {
  SlirpTimerId id = SLIRP_TIMER_RA;
  SlirpTimerCb callback = nullptr;  // set for timer_new, null for timer_new_opaque
  void* callback_opaque = nullptr;
  std::int64_t expire_ms = -1;  // -1: not armed
};

// libslirp's callbacks, each bouncing into the SlirpStack passed as opaque.
struct SlirpCallbacks {
  static SlirpStack& self(void* opaque) { return *static_cast<SlirpStack*>(opaque); }

  static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    self(opaque).hooks_.to_guest({static_cast<const std::uint8_t*>(buf), len});
    return static_cast<ssize_t>(len);
  }
  static void guest_error(const char* message, void* opaque) {
    if (self(opaque).hooks_.guest_error) self(opaque).hooks_.guest_error(message);
  }
  static std::int64_t clock_get_ns(void*) {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
  static void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<SlirpStack::Timer>();
    timer->callback = cb;
    timer->callback_opaque = cb_opaque;
    return self(opaque).timers_.emplace_back(std::move(timer)).get();
  }
  static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto timer = std::make_unique<SlirpStack::Timer>();
    timer->id = id;
    timer->callback_opaque = cb_opaque;
    return self(opaque).timers_.emplace_back(std::move(timer)).get();
  }
  static void timer_free(void* timer, void* opaque) {
    auto& timers = self(opaque).timers_;
    std::erase_if(timers, [&](const auto& t) { return t.get() == timer; });
  }
  static void timer_mod(void* timer, std::int64_t expire_ms, void*) {
    static_cast<SlirpStack::Timer*>(timer)->expire_ms = std::max<std::int64_t>(expire_ms, 0);
  }
  static void register_poll_fd(int, void*) {}
  static void unregister_poll_fd(int, void*) {}
  // libslirp calls this from the loop thread itself, which fills the poll
  // set afresh every round, so nothing needs waking.
  static void notify(void*) {}
  static void init_completed(Slirp*, void*) {}

  static int add_poll(int fd, int events, void* opaque) {
    std::vector<pollfd>& fds = *self(opaque).filling_;
    short wanted = 0;
    if (events & SLIRP_POLL_IN) wanted |= POLLIN;
    if (events & SLIRP_POLL_OUT) wanted |= POLLOUT;
    if (events & SLIRP_POLL_PRI) wanted |= POLLPRI;
    fds.push_back({fd, wanted, 0});
    return static_cast<int>(fds.size() - 1 - self(opaque).base_);
  }
  static int get_revents(int index, void* opaque) {
    SlirpStack& stack = self(opaque);
    const std::size_t at = stack.base_ + static_cast<std::size_t>(index);
    if (index < 0 || at >= stack.filling_->size()) return 0;
    const short revents = (*stack.filling_)[at].revents;
    int out = 0;
    if (revents & POLLIN) out |= SLIRP_POLL_IN;
    if (revents & POLLOUT) out |= SLIRP_POLL_OUT;
    if (revents & POLLPRI) out |= SLIRP_POLL_PRI;
    if (revents & (POLLERR | POLLNVAL)) out |= SLIRP_POLL_ERR;
    if (revents & POLLHUP) out |= SLIRP_POLL_HUP;
    return out;
  }

  static constexpr SlirpCb kCallbacks = {
      .send_packet = &send_packet,
      .guest_error = &guest_error,
      .clock_get_ns = &clock_get_ns,
      .timer_new = &timer_new,
      .timer_free = &timer_free,
      .timer_mod = &timer_mod,
      .register_poll_fd = &register_poll_fd,
      .unregister_poll_fd = &unregister_poll_fd,
      .notify = &notify,
      .init_completed = &init_completed,
      .timer_new_opaque = &timer_new_opaque,
  };
};

namespace {

in_addr in(Ipv4 address) {
  in_addr out{};
  out.s_addr = htonl(address);
  return out;
}

}  // namespace

SlirpStack::SlirpStack(Hooks hooks) : hooks_(std::move(hooks)) {}

sdk::Result<std::unique_ptr<SlirpStack>> SlirpStack::create(std::size_t mtu, Hooks hooks) {
  std::unique_ptr<SlirpStack> stack(new SlirpStack(std::move(hooks)));
  SlirpConfig config{};
  config.version = 4;
  config.restricted = 0;
  config.in_enabled = true;
  config.vnetwork = in(kGuestNetwork.network);
  config.vnetmask = in(kGuestNetwork.mask());
  config.vhost = in(kGatewayAddress);
  config.in6_enabled = false;
  config.vdhcp_start = in(kGuestAddress);
  config.vnameserver = in(kDnsAddress);
  config.if_mtu = mtu;
  config.if_mru = mtu;
  // 10.0.2.2 reaches the host's loopback: local model servers and mock
  // APIs are how agents are tested, so this stays on.
  config.disable_host_loopback = false;
  config.enable_emu = false;
  config.disable_dns = true;  // the filter's policy resolver answers DNS
  config.disable_dhcp = false;
  stack->slirp_ = ::slirp_new(&config, &SlirpCallbacks::kCallbacks, stack.get());
  if (stack->slirp_ == nullptr) return sdk::fail(VB_ERR_INTERNAL, "slirp_new failed");
  return stack;
}

SlirpStack::~SlirpStack() {
  // Closes every socket libslirp opened, the forwarded listeners included.
  if (slirp_ != nullptr) ::slirp_cleanup(slirp_);
}

void SlirpStack::input(std::span<const std::uint8_t> frame) {
  if (frame.size() > INT_MAX) return;
  ::slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
}

sdk::Result<> SlirpStack::add_forward(const PortForward& forward) {
  const bool udp = forward.protocol == ForwardProtocol::udp;
  if (::slirp_add_hostfwd(slirp_, udp ? 1 : 0, in(forward.host_address), forward.host_port,
                          in(kGuestAddress), forward.guest_port) != 0) {
    return sdk::fail_errno(
        VB_ERR_IO, std::string("cannot forward ") + std::string(to_string(forward.protocol)) + " " +
                       to_string(forward.host_address) + ":" + std::to_string(forward.host_port));
  }
  return {};
}

std::int64_t SlirpStack::now_ms() {
  return SlirpCallbacks::clock_get_ns(nullptr) / 1'000'000;
}

void SlirpStack::fill(std::vector<pollfd>& fds, int& timeout_ms) {
  const std::int64_t now = now_ms();
  std::int64_t wait = timeout_ms < 0 ? INT_MAX : timeout_ms;
  for (const auto& timer : timers_) {
    if (timer->expire_ms >= 0)
      wait = std::min(wait, std::max<std::int64_t>(timer->expire_ms - now, 0));
  }
  std::uint32_t slirp_timeout =
      static_cast<std::uint32_t>(std::min<std::int64_t>(wait, UINT32_MAX));
  filling_ = &fds;
  base_ = fds.size();
  ::slirp_pollfds_fill(slirp_, &slirp_timeout, &SlirpCallbacks::add_poll, this);
  filling_ = nullptr;
  const std::int64_t result = std::min<std::int64_t>(wait, slirp_timeout);
  timeout_ms = result >= INT_MAX ? -1 : static_cast<int>(result);
}

void SlirpStack::dispatch(std::vector<pollfd>& fds, bool poll_failed) {
  filling_ = &fds;
  ::slirp_pollfds_poll(slirp_, poll_failed ? 1 : 0, &SlirpCallbacks::get_revents, this);
  filling_ = nullptr;
  run_due_timers();
}

void SlirpStack::run_due_timers() {
  // A callback may free or re-arm timers, so look the list up afresh after
  // each one; the bound stops a timer that keeps re-arming in the past.
  for (std::size_t round = 0; round < 2 * timers_.size() + 1; ++round) {
    const std::int64_t now = now_ms();
    auto due = std::find_if(timers_.begin(), timers_.end(), [&](const auto& t) {
      return t->expire_ms >= 0 && t->expire_ms <= now;
    });
    if (due == timers_.end()) return;
    Timer& timer = **due;
    timer.expire_ms = -1;
    if (timer.callback != nullptr) {
      timer.callback(timer.callback_opaque);
    } else {
      ::slirp_handle_timer(slirp_, timer.id, timer.callback_opaque);
    }
  }
}

}  // namespace voidbox::net
