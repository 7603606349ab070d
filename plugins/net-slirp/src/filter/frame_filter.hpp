// The egress filter: every frame from the guest passes through filter()
// before libslirp sees it, so nothing in the guest can get around the
// policy (see egress_policy.hpp for the rules).
//
// Per frame the answer is pass (give it to libslirp), drop, or answer (the
// filter replies itself, through `to_guest`: an RST for a refused TCP
// connection at once, a DNS response from the policy resolver at once or
// when the upstream lookup finishes). libslirp never sees an answered frame.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <tuple>

#include "filter/connection_tracker.hpp"
#include "filter/dns_message.hpp"
#include "filter/egress_policy.hpp"
#include "filter/resolver.hpp"

namespace voidbox::net {

enum class Verdict { pass, drop, answer };

struct Denial {
  IpProtocol protocol = IpProtocol::tcp;
  Ipv4 destination = 0;
  std::uint16_t port = 0;  // 0 for ICMP
  DenyReason reason = DenyReason::not_allowlisted;
};

// For the VM's exit summary. frames == passed + dropped + answered.
struct FilterCounters {
  std::uint64_t frames = 0;
  std::uint64_t passed = 0;
  std::uint64_t dropped = 0;
  std::uint64_t answered = 0;
  std::uint64_t malformed = 0;            // failed to parse (dropped)
  std::uint64_t unsupported = 0;          // IPv6, other EtherTypes and IP protocols, fragments
  std::uint64_t tcp_refused = 0;          // RST sent for a denied or limited SYN
  std::uint64_t udp_denied = 0;           // datagrams dropped by policy
  std::uint64_t icmp_denied = 0;          // ICMP dropped by policy
  std::uint64_t rate_limited = 0;         // part of tcp_refused
  std::uint64_t concurrency_limited = 0;  // part of tcp_refused
  std::uint64_t dns_queries = 0;          // answered by the policy resolver
  std::uint64_t dns_nxdomain = 0;
  std::uint64_t dns_servfail = 0;
  std::uint64_t dns_malformed = 0;  // queries that did not parse (dropped)
  std::uint64_t denials_reported = 0;
  std::uint64_t denials_unreported = 0;  // repeats, and new ones past the report limit
};

struct FilterHooks {
  std::function<void(std::span<const std::uint8_t>)> to_guest;  // frames the filter sends
  std::function<void(const Denial&)> on_denial;  // once per (destination, reason); may be empty
  std::function<Clock::time_point()> clock;      // empty: steady_clock
  Resolver* resolver = nullptr;                  // needed in allowlist mode; outlives the filter
};

class FrameFilter {
 public:
  FrameFilter(const PolicyConfig& config, FilterHooks hooks);
  FrameFilter(const FrameFilter&) = delete;
  FrameFilter& operator=(const FrameFilter&) = delete;

  Verdict filter(std::span<const std::uint8_t> frame);

  const FilterCounters& counters() const { return counters_; }
  std::size_t active_connections() const { return tracker_.active(); }
  std::size_t pending_lookups() const { return pending_lookups_; }

 private:
  Clock::time_point now() const;
  Verdict count(Verdict verdict);
  Verdict on_tcp(const ParsedFrame& frame);
  Verdict on_udp(const ParsedFrame& frame);
  Verdict on_icmp(const ParsedFrame& frame);
  Verdict answer_dns(const ParsedFrame& frame);
  void finish_lookup(const ParsedFrame& request, const DnsQuery& query,
                     const std::expected<ResolvedAddresses, ResolveError>& result);
  void send_dns(const ParsedFrame& request, const DnsQuery& query, DnsRcode rcode,
                std::span<const Ipv4> answers, std::uint32_t ttl);
  Verdict refuse_tcp(const ParsedFrame& frame, DenyReason reason);
  void report(IpProtocol protocol, Ipv4 destination, std::uint16_t port, DenyReason reason);

  EgressRules rules_;
  std::optional<DomainAllowlist> domains_;
  bool resolve_all_dns_ = false;
  std::vector<std::uint16_t> forwarded_udp_ports_;
  FilterHooks hooks_;
  ConnectionTracker tracker_;
  LearntAddresses learnt_;
  FilterCounters counters_;
  std::set<std::tuple<IpProtocol, Ipv4, std::uint16_t, DenyReason>> reported_;
  std::size_t pending_lookups_ = 0;
  // Lookups that finish after the filter is gone must not touch it.
  std::shared_ptr<FrameFilter*> self_;
};

}  // namespace voidbox::net
