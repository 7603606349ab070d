#include "filter/frame_filter.hpp"

#include <algorithm>

#include "filter/reply_builder.hpp"

namespace voidbox::net {
namespace {

// A guest flooding the policy resolver with queries for allowed names gets
// SERVFAIL past this many outstanding upstream lookups.
constexpr std::size_t kMaxPendingLookups = 256;
// Distinct denials reported one by one; later ones are only counted.
constexpr std::size_t kMaxReportedDenials = 4096;
// A learnt address stays usable at least this long, so a TTL of 0 does not
// refuse the connection that follows the lookup, and at most a day.
constexpr std::uint32_t kMinLearntSeconds = 10;
constexpr std::uint32_t kMaxTtlSeconds = 86400;

FlowKey flow_key(const ParsedFrame& frame) {
  return {frame.ip->source, frame.ip->destination, frame.tcp->source_port,
          frame.tcp->destination_port};
}

}  // namespace

FrameFilter::FrameFilter(const PolicyConfig& config, FilterHooks hooks)
    : rules_(config),
      forwarded_udp_ports_(config.forwarded_udp_guest_ports),
      hooks_(std::move(hooks)),
      tracker_(config.max_connections_per_second, config.max_concurrent_connections,
               config.tcp_idle_timeout, hooks_.clock ? hooks_.clock() : Clock::now()),
      self_(std::make_shared<FrameFilter*>(this)) {
  if (config.allow_domains) domains_.emplace(*config.allow_domains);
  resolve_all_dns_ = config.resolve_all_dns;
}

Clock::time_point FrameFilter::now() const {
  return hooks_.clock ? hooks_.clock() : Clock::now();
}

Verdict FrameFilter::count(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass:
      ++counters_.passed;
      break;
    case Verdict::drop:
      ++counters_.dropped;
      break;
    case Verdict::answer:
      ++counters_.answered;
      break;
  }
  return verdict;
}

Verdict FrameFilter::filter(std::span<const std::uint8_t> bytes) {
  ++counters_.frames;
  auto parsed = parse_frame(bytes);
  if (!parsed) {
    ++counters_.malformed;
    return count(Verdict::drop);
  }
  const ParsedFrame& frame = *parsed;
  if (frame.ethernet.ether_type == kEtherTypeArp) return count(Verdict::pass);
  // The guest network is IPv4 only; anything else would bypass the rules.
  if (!frame.ip || frame.ip->fragment) {
    ++counters_.unsupported;
    return count(Verdict::drop);
  }
  if (frame.tcp) return count(on_tcp(frame));
  if (frame.udp) return count(on_udp(frame));
  if (frame.icmp_type) return count(on_icmp(frame));
  ++counters_.unsupported;
  return count(Verdict::drop);
}

Verdict FrameFilter::on_tcp(const ParsedFrame& frame) {
  const TcpHeader& tcp = *frame.tcp;
  const FlowKey key = flow_key(frame);
  const bool syn = (tcp.flags & tcp_flags::syn) != 0;
  const bool ack = (tcp.flags & tcp_flags::ack) != 0;
  if (!syn || ack) {
    // libslirp connects a host socket only for a SYN; any other segment
    // either belongs to a connection already admitted (or one the host
    // opened through a forwarded port) or gets an RST from libslirp.
    if ((tcp.flags & tcp_flags::rst) != 0) {
      tracker_.reset(key);
    } else if ((tcp.flags & tcp_flags::fin) != 0) {
      tracker_.finish(key, now());
    } else {
      tracker_.touch(key, now());
    }
    return Verdict::pass;
  }
  const Ipv4 destination = frame.ip->destination;
  const bool learnt = learnt_.contains(destination, now());
  if (auto reason = rules_.check(IpProtocol::tcp, destination, tcp.destination_port, learnt)) {
    return refuse_tcp(frame, *reason);
  }
  switch (tracker_.open(key, now())) {
    case ConnectionTracker::Admission::existing:
    case ConnectionTracker::Admission::admitted:
      return Verdict::pass;
    case ConnectionTracker::Admission::rate_limited:
      ++counters_.rate_limited;
      return refuse_tcp(frame, DenyReason::rate_limit);
    case ConnectionTracker::Admission::concurrency_limited:
      ++counters_.concurrency_limited;
      return refuse_tcp(frame, DenyReason::concurrency_limit);
  }
  return Verdict::drop;
}

Verdict FrameFilter::refuse_tcp(const ParsedFrame& frame, DenyReason reason) {
  ++counters_.tcp_refused;
  report(IpProtocol::tcp, frame.ip->destination, frame.tcp->destination_port, reason);
  const std::vector<std::uint8_t> reset = build_tcp_reset(frame);
  if (hooks_.to_guest) hooks_.to_guest(reset);
  return Verdict::answer;
}

Verdict FrameFilter::on_udp(const ParsedFrame& frame) {
  const UdpHeader& udp = *frame.udp;
  // Any query to any address: a guest that ignores resolv.conf and asks
  // 8.8.8.8 directly still gets the policy resolver.
  if ((domains_ || resolve_all_dns_) && udp.destination_port == kDnsPort) return answer_dns(frame);
  if (std::find(forwarded_udp_ports_.begin(), forwarded_udp_ports_.end(), udp.source_port) !=
      forwarded_udp_ports_.end()) {
    return Verdict::pass;
  }
  const Ipv4 destination = frame.ip->destination;
  const bool learnt = learnt_.contains(destination, now());
  if (auto reason = rules_.check(IpProtocol::udp, destination, udp.destination_port, learnt)) {
    ++counters_.udp_denied;
    report(IpProtocol::udp, destination, udp.destination_port, *reason);
    return Verdict::drop;
  }
  return Verdict::pass;
}

Verdict FrameFilter::on_icmp(const ParsedFrame& frame) {
  const Ipv4 destination = frame.ip->destination;
  const bool learnt = learnt_.contains(destination, now());
  if (auto reason = rules_.check(IpProtocol::icmp, destination, 0, learnt)) {
    ++counters_.icmp_denied;
    report(IpProtocol::icmp, destination, 0, *reason);
    return Verdict::drop;
  }
  return Verdict::pass;
}

Verdict FrameFilter::answer_dns(const ParsedFrame& frame) {
  auto query = parse_dns_query(frame.udp->payload);
  if (!query) {
    ++counters_.dns_malformed;
    return Verdict::drop;
  }
  ++counters_.dns_queries;
  if (query->klass != kDnsClassIn) {
    send_dns(frame, *query, DnsRcode::refused, {}, 0);
    return Verdict::answer;
  }
  if (!query->name || (domains_ && !domains_->allows(*query->name))) {
    ++counters_.dns_nxdomain;
    send_dns(frame, *query, DnsRcode::name_error, {}, 0);
    return Verdict::answer;
  }
  if (query->type != kDnsTypeA) {
    // The guest network is IPv4 only: AAAA and other types of an allowed
    // name get an empty answer at once instead of a timeout.
    send_dns(frame, *query, DnsRcode::no_error, {}, 0);
    return Verdict::answer;
  }
  if (hooks_.resolver == nullptr || pending_lookups_ >= kMaxPendingLookups) {
    ++counters_.dns_servfail;
    send_dns(frame, *query, DnsRcode::server_failure, {}, 0);
    return Verdict::answer;
  }
  // The frame's bytes do not outlive this call; the reply needs only the
  // headers.
  ParsedFrame request = frame;
  request.udp->payload = {};
  ++pending_lookups_;
  std::weak_ptr<FrameFilter*> self = self_;
  hooks_.resolver->resolve(
      *query->name,
      [self, request, query = *query](std::expected<ResolvedAddresses, ResolveError> result) {
        if (auto alive = self.lock()) (*alive)->finish_lookup(request, query, result);
      });
  return Verdict::answer;
}

void FrameFilter::finish_lookup(const ParsedFrame& request, const DnsQuery& query,
                                const std::expected<ResolvedAddresses, ResolveError>& result) {
  --pending_lookups_;
  if (!result) {
    const bool missing = result.error() == ResolveError::not_found;
    ++(missing ? counters_.dns_nxdomain : counters_.dns_servfail);
    send_dns(request, query, missing ? DnsRcode::name_error : DnsRcode::server_failure, {}, 0);
    return;
  }
  const std::uint32_t ttl = std::min(result->ttl_seconds, kMaxTtlSeconds);
  const auto expiry = now() + std::chrono::seconds(std::max(ttl, kMinLearntSeconds));
  const auto answers =
      std::span(result->addresses).first(std::min(result->addresses.size(), kMaxDnsAnswers));
  for (Ipv4 address : answers) learnt_.learn(address, expiry);
  send_dns(request, query, DnsRcode::no_error, answers, ttl);
}

void FrameFilter::send_dns(const ParsedFrame& request, const DnsQuery& query, DnsRcode rcode,
                           std::span<const Ipv4> answers, std::uint32_t ttl) {
  const std::vector<std::uint8_t> message = build_dns_response(query, rcode, answers, ttl);
  const std::vector<std::uint8_t> reply = build_udp_reply(request, message);
  if (hooks_.to_guest) hooks_.to_guest(reply);
}

void FrameFilter::report(IpProtocol protocol, Ipv4 destination, std::uint16_t port,
                         DenyReason reason) {
  const auto key = std::tuple(protocol, destination, port, reason);
  if (reported_.size() >= kMaxReportedDenials || !reported_.insert(key).second) {
    ++counters_.denials_unreported;
    return;
  }
  ++counters_.denials_reported;
  if (hooks_.on_denial) hooks_.on_denial(Denial{protocol, destination, port, reason});
}

}  // namespace voidbox::net
