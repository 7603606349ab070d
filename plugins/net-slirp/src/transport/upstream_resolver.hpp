// The policy resolver's lookups against the DNS upstream, over UDP, on the
// transport's event loop. Each lookup has its own connected, non-blocking
// socket (a fresh random source port, and the kernel drops datagrams from
// anyone but the upstream) and a random query id; an answer counts only if
// it matches the id and the question. No answer within 2 s: the query is sent
// again with a new id; a second silence, an ICMP refusal, or an error answer:
// the lookup fails (the guest gets SERVFAIL).
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "filter/dns_answer.hpp"
#include "filter/egress_policy.hpp"
#include "filter/resolver.hpp"
#include "transport/transport_config.hpp"
#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::net {

class UpstreamResolver final : public Resolver {
 public:
  static constexpr std::chrono::milliseconds kAttemptTimeout{2000};
  static constexpr int kAttempts = 2;

  // Without an upstream every lookup fails at once.
  explicit UpstreamResolver(std::optional<SocketAddress> upstream);
  ~UpstreamResolver() override;

  void resolve(const std::string& name, Callback done) override;

  // The event loop's side: append a pollfd per outstanding lookup, then
  // hand back the same vector; lookups finish (and call back) in dispatch
  // and expire.
  void fill(std::vector<pollfd>& fds);
  void dispatch(const std::vector<pollfd>& fds);
  std::optional<Clock::time_point> next_deadline() const;
  void expire(Clock::time_point now);
  std::size_t outstanding() const { return lookups_.size(); }

 private:
  struct Lookup {
    std::string name;
    Callback done;
    sdk::UniqueFd socket;
    std::uint16_t ids[kAttempts] = {};
    int attempts = 0;
    Clock::time_point deadline;
  };
  bool send_attempt(Lookup& lookup);
  // nullopt: keep waiting.
  std::optional<UpstreamResult> read_answers(Lookup& lookup);
  void finish(std::size_t index, const UpstreamResult& result);

  std::optional<SocketAddress> upstream_;
  std::vector<std::unique_ptr<Lookup>> lookups_;
  std::size_t base_ = 0;  // where fill's entries start
};

}  // namespace voidbox::net
