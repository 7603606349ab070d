#include "transport/upstream_resolver.hpp"

#include <sys/random.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <random>

namespace voidbox::net {
namespace {

// Larger answers are truncated by the kernel and then fail to parse.
constexpr std::size_t kMaxAnswerSize = 4096;
// Datagrams read per socket per round, so a flooding upstream cannot starve
// the loop.
constexpr int kMaxReadsPerRound = 8;

std::uint16_t random_id() {
  std::uint16_t id = 0;
  if (::getrandom(&id, sizeof id, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof id)) return id;
  // No getrandom (an old kernel, a seccomp filter): still unpredictable
  // enough to a guest that cannot see the host's clock or memory layout.
  static thread_local std::mt19937 fallback(
      static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count() ^
                                 reinterpret_cast<std::uintptr_t>(&id)));
  return static_cast<std::uint16_t>(fallback());
}

}  // namespace

UpstreamResolver::UpstreamResolver(std::optional<SocketAddress> upstream)
    : upstream_(std::move(upstream)) {}

UpstreamResolver::~UpstreamResolver() = default;

void UpstreamResolver::resolve(const std::string& name, Callback done) {
  if (!upstream_) {
    done(std::unexpected(ResolveError::failed));
    return;
  }
  auto lookup = std::make_unique<Lookup>();
  lookup->name = name;
  lookup->done = std::move(done);
  lookup->socket.reset(
      ::socket(upstream_->storage.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!lookup->socket ||
      ::connect(lookup->socket.get(), reinterpret_cast<const sockaddr*>(&upstream_->storage),
                upstream_->length) != 0 ||
      !send_attempt(*lookup)) {
    lookup->done(std::unexpected(ResolveError::failed));
    return;
  }
  lookups_.push_back(std::move(lookup));
}

bool UpstreamResolver::send_attempt(Lookup& lookup) {
  const std::uint16_t id = random_id();
  const std::vector<std::uint8_t> query = build_dns_query(id, lookup.name);
  if (query.empty()) return false;
  lookup.ids[lookup.attempts++] = id;
  lookup.deadline = Clock::now() + kAttemptTimeout;
  // A full socket buffer or a lost datagram is what the retry is for.
  const ssize_t sent = ::send(lookup.socket.get(), query.data(), query.size(), MSG_NOSIGNAL);
  return sent >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS;
}

std::optional<UpstreamResult> UpstreamResolver::read_answers(Lookup& lookup) {
  std::array<std::uint8_t, kMaxAnswerSize> buffer;
  for (int i = 0; i < kMaxReadsPerRound; ++i) {
    const ssize_t n = ::recv(lookup.socket.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::nullopt;
      // ECONNREFUSED and friends: nobody serves DNS there.
      return std::unexpected(ResolveError::failed);
    }
    const std::span<const std::uint8_t> message(buffer.data(), static_cast<std::size_t>(n));
    for (int attempt = 0; attempt < lookup.attempts; ++attempt) {
      if (auto result = parse_dns_answer(message, lookup.ids[attempt], lookup.name)) return result;
    }
  }
  return std::nullopt;
}

void UpstreamResolver::finish(std::size_t index, const UpstreamResult& result) {
  // Out of the list first: the callback may start another lookup.
  std::unique_ptr<Lookup> lookup = std::move(lookups_[index]);
  lookups_.erase(lookups_.begin() + static_cast<std::ptrdiff_t>(index));
  lookup->socket.reset();
  lookup->done(result);
}

void UpstreamResolver::fill(std::vector<pollfd>& fds) {
  base_ = fds.size();
  for (const auto& lookup : lookups_) fds.push_back({lookup->socket.get(), POLLIN, 0});
}

void UpstreamResolver::dispatch(const std::vector<pollfd>& fds) {
  // Walk backwards so finishing one does not shift the ones still to visit;
  // lookups added since fill sit past the end and wait for the next round.
  const std::size_t polled = fds.size() > base_ ? fds.size() - base_ : 0;
  for (std::size_t i = std::min(polled, lookups_.size()); i-- > 0;) {
    const pollfd& entry = fds[base_ + i];
    if (entry.fd != lookups_[i]->socket.get() || entry.revents == 0) continue;
    if (auto result = read_answers(*lookups_[i])) finish(i, *result);
  }
}

std::optional<Clock::time_point> UpstreamResolver::next_deadline() const {
  std::optional<Clock::time_point> out;
  for (const auto& lookup : lookups_) {
    if (!out || lookup->deadline < *out) out = lookup->deadline;
  }
  return out;
}

void UpstreamResolver::expire(Clock::time_point now) {
  for (std::size_t i = lookups_.size(); i-- > 0;) {
    Lookup& lookup = *lookups_[i];
    if (lookup.deadline > now) continue;
    if (lookup.attempts < kAttempts && send_attempt(lookup)) continue;
    finish(i, std::unexpected(ResolveError::failed));
  }
}

}  // namespace voidbox::net
