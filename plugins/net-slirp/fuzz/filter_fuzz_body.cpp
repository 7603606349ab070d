#include "filter_fuzz_body.hpp"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <vector>

#include "filter/bytes.hpp"
#include "filter/checksum.hpp"
#include "filter/dns_answer.hpp"
#include "filter/frame_filter.hpp"

namespace voidbox::net::fuzz {
namespace {

void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "net filter invariant violated: %s\n", what);
  std::abort();
}

// The id the harness's upstream answers carry (op 5).
constexpr std::uint16_t kUpstreamId = 0x4242;

class QueuedResolver : public Resolver {
 public:
  void resolve(const std::string& name, Callback done) override {
    names.push_back(name);
    pending.push_back(std::move(done));
  }
  std::deque<std::string> names;
  std::deque<Callback> pending;
};

// A reply must be a well-formed frame from the filter's point of view, and
// its transport checksum must verify.
void check_reply(std::span<const std::uint8_t> frame) {
  auto parsed = parse_frame(frame);
  require(parsed.has_value(), "a built frame parses back");
  require(parsed->ip.has_value() && !parsed->ip->fragment, "a built frame is IPv4");
  require(parsed->tcp.has_value() || parsed->udp.has_value(), "a built frame is TCP or UDP");
  const auto segment = frame.subspan(kEthernetHeaderSize + parsed->ip->header_length,
                                     parsed->ip->total_length - parsed->ip->header_length);
  const std::uint32_t pseudo =
      pseudo_header_sum(parsed->ip->source, parsed->ip->destination, parsed->ip->protocol,
                        static_cast<std::uint16_t>(segment.size()));
  require(checksum_finish(checksum_add(segment, pseudo)) == 0, "transport checksum verifies");
  if (parsed->tcp) require((parsed->tcp->flags & tcp_flags::rst) != 0, "a built segment is RST");
  if (parsed->udp) {
    require(parsed->udp->source_port == kDnsPort, "a built datagram is a DNS answer");
    require(parsed->udp->payload.size() >= kDnsHeaderSize, "it holds a DNS header");
    require((parsed->udp->payload[2] & 0x80) != 0, "with the response bit");
  }
}

std::vector<std::uint8_t> wrap_ipv4(std::span<const std::uint8_t> record) {
  // record: protocol, destination (4), then the transport bytes.
  std::vector<std::uint8_t> frame(kEthernetHeaderSize + kIpv4HeaderSize);
  if (record.size() < 5) return frame;
  const auto l4 = record.subspan(5);
  frame[12] = 0x08;
  std::uint8_t* ip = frame.data() + kEthernetHeaderSize;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<std::uint16_t>(kIpv4HeaderSize + l4.size()));
  ip[8] = 64;
  ip[9] = record[0];
  store_be32(ip + 12, kGuestAddress);
  std::copy_n(record.begin() + 1, 4, ip + 16);
  store_be16(ip + 10, checksum_finish(checksum_add({ip, kIpv4HeaderSize})));
  frame.insert(frame.end(), l4.begin(), l4.end());
  return frame;
}

PolicyConfig config_from(std::uint8_t choice) {
  PolicyConfig config;
  if (choice & 1) config.allow_domains = std::vector<std::string>{"example.com", "*.pypi.org"};
  if (choice & 2) config.allow_cidrs = {Cidr{ipv4(192, 168, 0, 0), 16}, Cidr{ipv4(1, 1, 1, 0), 24}};
  if (choice & 4) config.deny_cidrs = {Cidr{ipv4(8, 8, 0, 0), 16}, Cidr{kGatewayAddress, 32}};
  config.max_connections_per_second = (choice & 8) ? 3 : 50;
  config.max_concurrent_connections = (choice & 16) ? 2 : 64;
  config.tcp_idle_timeout = std::chrono::seconds((choice & 32) ? 1 : 300);
  if (choice & 64) config.forwarded_udp_guest_ports = {53, 8080};
  return config;
}

}  // namespace

int run_filter(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const PolicyConfig config = config_from(data[0]);
  QueuedResolver resolver;
  Clock::time_point now{};
  std::size_t replies = 0;
  std::uint64_t denials = 0;
  auto filter = std::make_unique<FrameFilter>(
      config, FilterHooks{[&](std::span<const std::uint8_t> frame) {
                            check_reply(frame);
                            ++replies;
                          },
                          [&](const Denial&) { ++denials; }, [&] { return now; }, &resolver});
  std::size_t at = 1;
  while (at + 3 <= size) {
    const std::uint8_t op = data[at] % 6;
    const std::size_t length = std::min<std::size_t>(load_be16(data + at + 1), size - at - 3);
    const std::span<const std::uint8_t> record(data + at + 3, length);
    at += 3 + length;
    const std::size_t replies_before = replies;
    Verdict verdict = Verdict::drop;
    switch (op) {
      case 0:
        verdict = filter->filter(record);
        break;
      case 1:
        verdict = filter->filter(wrap_ipv4(record));
        break;
      case 2:
        now += std::chrono::milliseconds(record.empty() ? 1 : record[0] * 100);
        continue;
      case 3: {
        if (resolver.pending.empty()) continue;
        auto done = std::move(resolver.pending.front());
        resolver.pending.pop_front();
        resolver.names.pop_front();
        if (record.empty()) {
          done(std::unexpected(ResolveError::failed));
        } else {
          ResolvedAddresses answer{{}, record[0]};
          for (std::size_t i = 1; i + 4 <= record.size(); i += 4) {
            answer.addresses.push_back(load_be32(record.data() + i));
          }
          done(answer);
        }
        require(replies == replies_before + 1, "a finished lookup sends one answer");
        continue;
      }
      case 5: {
        // The upstream server's bytes, as the transport's resolver parses them.
        if (resolver.pending.empty()) continue;
        auto result = parse_dns_answer(record, kUpstreamId, resolver.names.front());
        if (!result) continue;  // not an answer to this query: still pending
        if (*result) {
          require((*result)->addresses.size() <= kMaxUpstreamAddresses, "answers are bounded");
        }
        auto done = std::move(resolver.pending.front());
        resolver.pending.pop_front();
        resolver.names.pop_front();
        done(*result);
        require(replies == replies_before + 1, "a parsed answer sends one reply");
        continue;
      }
      case 4:
        if (record.empty() || record[0] != 0xff) continue;
        filter.reset();  // pending lookups then finish into nothing
        for (auto& done : resolver.pending) done(ResolvedAddresses{{kGuestAddress}, 1});
        require(replies == replies_before, "no answers after the filter is gone");
        return 0;
    }
    require(replies <= replies_before + 1, "at most one reply per frame");
    if (verdict != Verdict::answer) require(replies == replies_before, "only answers reply");
    const FilterCounters& c = filter->counters();
    require(c.frames == c.passed + c.dropped + c.answered, "verdict counters add up");
    require(c.rate_limited + c.concurrency_limited <= c.tcp_refused, "limit refusals are refusals");
    require(
        c.denials_reported + c.denials_unreported == c.tcp_refused + c.udp_denied + c.icmp_denied,
        "every denial is reported or counted");
    require(c.denials_reported == denials, "reports reach the callback");
    require(filter->active_connections() <= config.max_concurrent_connections,
            "the concurrency limit holds");
  }
  return 0;
}

}  // namespace voidbox::net::fuzz
