// The filter's verdicts and the frames it builds: RSTs for refused
// connections and the policy resolver's DNS answers.
#include "filter/frame_filter.hpp"

#include <gtest/gtest.h>

#include "filter_harness.hpp"

namespace voidbox::net {
namespace {

using namespace testing;
using std::chrono::seconds;

const Ipv4 kExample = ipv4(93, 184, 216, 34);

// Checks a reply travels from `from` back to the guest, with both checksums
// right by this test's own arithmetic.
void expect_reply_to_guest(const Bytes& reply, Ipv4 from, std::uint8_t protocol) {
  ASSERT_GE(reply.size(), kL4 + 8);
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), reply.begin()));
  EXPECT_TRUE(std::equal(kGatewayMac.begin(), kGatewayMac.end(), reply.begin() + 6));
  EXPECT_EQ(get16(reply, 12), 0x0800);
  EXPECT_EQ(reply[kIp], 0x45);
  EXPECT_EQ(get16(reply, kIp + 2), reply.size() - kIp);
  EXPECT_EQ(reply[kIp + 9], protocol);
  EXPECT_EQ(get32(reply, kIp + 12), from);
  EXPECT_EQ(get32(reply, kIp + 16), kGuestIp);
  EXPECT_TRUE(ipv4_checksum_ok(reply));
  EXPECT_TRUE(transport_checksum_ok(reply));
}

TEST(FrameFilter, ArpPasses) {
  FilterHarness h(allowlist({}));
  EXPECT_EQ(h.feed(arp_request_frame(kGatewayAddress)), Verdict::pass);
  EXPECT_TRUE(h.sent.empty());
}

TEST(FrameFilter, AllowedCidrPassesInAllowlistMode) {
  PolicyConfig config = allowlist({"example.com"});
  config.allow_cidrs = {*parse_cidr("140.82.112.0/20")};
  FilterHarness h(config);
  EXPECT_EQ(h.feed(tcp_frame({.dst = ipv4(140, 82, 121, 4), .dport = 443})), Verdict::pass);
  EXPECT_EQ(h.feed(udp_frame(ipv4(140, 82, 121, 4), 443, {1})), Verdict::pass);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .dport = 443})), Verdict::answer);
  EXPECT_EQ(h.filter->counters().passed, 2u);
}

TEST(FrameFilter, DeniedSynGetsAnRstWithTheRightNumbersAndChecksums) {
  PolicyConfig config;
  config.deny_cidrs = {*parse_cidr("203.0.113.0/24")};
  FilterHarness h(config);
  const Bytes payload = {'G', 'E', 'T'};  // data on a SYN (TCP Fast Open) counts too
  EXPECT_EQ(h.feed(tcp_frame({.dst = ipv4(203, 0, 113, 9),
                              .dport = 8443,
                              .sport = 51515,
                              .seq = 0xfffffffe,
                              .payload = payload})),
            Verdict::answer);
  ASSERT_EQ(h.sent.size(), 1u);
  const Bytes rst = h.take_sent();
  expect_reply_to_guest(rst, ipv4(203, 0, 113, 9), 6);
  ASSERT_EQ(rst.size(), kL4 + 20);
  EXPECT_EQ(get16(rst, kL4), 8443);
  EXPECT_EQ(get16(rst, kL4 + 2), 51515);
  EXPECT_EQ(get32(rst, kL4 + 4), 0u);
  EXPECT_EQ(get32(rst, kL4 + 8), 0xfffffffeu + 1 + 3);  // wraps: SYN + 3 data bytes
  EXPECT_EQ(rst[kL4 + 13], kRst | kAck);
  EXPECT_EQ(rst[kL4 + 12] >> 4, 5);
  ASSERT_EQ(h.denials.size(), 1u);
  EXPECT_EQ(h.denials[0].reason, DenyReason::deny_cidr);
  EXPECT_EQ(h.denials[0].destination, ipv4(203, 0, 113, 9));
  EXPECT_EQ(h.denials[0].port, 8443);
  EXPECT_EQ(h.filter->counters().tcp_refused, 1u);
}

TEST(FrameFilter, MetadataServiceIsDeniedByDefaultAndReportedOnce) {
  FilterHarness h;
  const Ipv4 metadata = ipv4(169, 254, 169, 254);
  EXPECT_EQ(h.feed(tcp_frame({.dst = metadata})), Verdict::answer);
  EXPECT_EQ(h.feed(tcp_frame({.dst = metadata, .sport = 40001})), Verdict::answer);
  EXPECT_EQ(h.feed(udp_frame(metadata, 80, {1})), Verdict::drop);
  EXPECT_EQ(h.feed(icmp_echo_frame(metadata)), Verdict::drop);
  ASSERT_EQ(h.denials.size(), 3u);  // tcp:80 once, udp:80, icmp
  EXPECT_EQ(h.denials[0].reason, DenyReason::reserved_range);
  EXPECT_EQ(h.denials[1].protocol, IpProtocol::udp);
  EXPECT_EQ(h.denials[2].protocol, IpProtocol::icmp);
  const FilterCounters& c = h.filter->counters();
  EXPECT_EQ(c.tcp_refused, 2u);
  EXPECT_EQ(c.udp_denied, 1u);
  EXPECT_EQ(c.icmp_denied, 1u);
  EXPECT_EQ(c.denials_reported, 3u);
  EXPECT_EQ(c.denials_unreported, 1u);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample})), Verdict::pass);  // open mode otherwise
}

TEST(FrameFilter, SegmentsOtherThanSynPass) {
  FilterHarness h(allowlist({}));
  // libslirp has no socket for them, so they cannot reach anything.
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .flags = kAck, .ack = 5})), Verdict::pass);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .flags = kSyn | kAck})), Verdict::pass);
  EXPECT_TRUE(h.sent.empty());
}

Bytes resolve_through_filter(FilterHarness& h, Ipv4 server, std::string_view name,
                             std::vector<Ipv4> answers, std::uint32_t ttl) {
  EXPECT_EQ(h.feed(udp_frame(server, 53, dns_query(0x4242, name), 33333)), Verdict::answer);
  EXPECT_TRUE(h.sent.empty()) << "answered before the upstream lookup finished";
  EXPECT_EQ(h.resolver.lookups.size(), 1u);
  if (h.resolver.lookups.empty()) return {};
  EXPECT_EQ(h.resolver.lookups.front().name, name);
  h.resolver.answer(std::move(answers), ttl);
  EXPECT_EQ(h.sent.size(), 1u);
  return h.take_sent();
}

TEST(FrameFilter, AllowedNameIsResolvedUpstreamAndAnswered) {
  FilterHarness h(allowlist({"*.example.com"}));
  const Bytes reply = resolve_through_filter(h, kDnsAddress, "api.example.com",
                                             {kExample, ipv4(93, 184, 216, 35)}, 300);
  expect_reply_to_guest(reply, kDnsAddress, 17);
  EXPECT_EQ(get16(reply, kL4), 53);
  EXPECT_EQ(get16(reply, kL4 + 2), 33333);
  const Bytes dns(reply.begin() + kL4 + 8, reply.end());
  EXPECT_EQ(get16(dns, 0), 0x4242);
  EXPECT_EQ(get16(dns, 2) & 0x800f, 0x8000);  // a response, NOERROR
  EXPECT_EQ(get16(dns, 6), 2);
  const std::size_t first = dns.size() - 32;
  EXPECT_EQ(get32(dns, first + 6), 300u);
  EXPECT_EQ(get32(dns, first + 12), kExample);
  EXPECT_EQ(get32(dns, first + 28), ipv4(93, 184, 216, 35));
  EXPECT_EQ(h.filter->counters().dns_queries, 1u);
}

TEST(FrameFilter, LearntAddressIsReachableUntilItsTtlRunsOut) {
  FilterHarness h(allowlist({"example.com"}));
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample})), Verdict::answer);  // not learnt yet
  h.sent.clear();
  resolve_through_filter(h, kDnsAddress, "example.com", {kExample}, 300);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .sport = 41000})), Verdict::pass);
  h.now += seconds(299);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .sport = 41001})), Verdict::pass);
  // An admitted connection keeps working past the TTL; a new one does not.
  h.now += seconds(2);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .sport = 41001, .flags = kAck})), Verdict::pass);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample, .sport = 41002})), Verdict::answer);
  ASSERT_FALSE(h.denials.empty());
  EXPECT_EQ(h.denials.back().reason, DenyReason::not_allowlisted);
}

TEST(FrameFilter, OtherNamesGetNxdomainWithoutALookup) {
  FilterHarness h(allowlist({"example.com"}));
  EXPECT_EQ(h.feed(udp_frame(kDnsAddress, 53, dns_query(77, "exfiltrate.evil.net"))),
            Verdict::answer);
  EXPECT_TRUE(h.resolver.lookups.empty());
  ASSERT_EQ(h.sent.size(), 1u);
  const Bytes reply = h.take_sent();
  expect_reply_to_guest(reply, kDnsAddress, 17);
  const Bytes dns(reply.begin() + kL4 + 8, reply.end());
  EXPECT_EQ(get16(dns, 0), 77);
  EXPECT_EQ(get16(dns, 2) & 0x000f, 3);  // NXDOMAIN
  EXPECT_EQ(get16(dns, 6), 0);
  EXPECT_EQ(h.filter->counters().dns_nxdomain, 1u);
}

TEST(FrameFilter, QueriesToAnyServerAreAnsweredByThePolicyResolver) {
  FilterHarness h(allowlist({"example.com"}));
  const Ipv4 google = ipv4(8, 8, 8, 8);
  const Bytes reply = resolve_through_filter(h, google, "example.com", {kExample}, 60);
  expect_reply_to_guest(reply, google, 17);  // from the address the guest asked
  EXPECT_EQ(h.feed(udp_frame(google, 53, dns_query(5, "other.org"))), Verdict::answer);
  const Bytes nx = h.take_sent();
  expect_reply_to_guest(nx, google, 17);
  EXPECT_EQ(get16(nx, kL4 + 8 + 2) & 0x000f, 3);
  // DNS over TCP cannot be answered, so it is refused rather than passed.
  EXPECT_EQ(h.feed(tcp_frame({.dst = google, .dport = 53})), Verdict::answer);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kDnsAddress, .dport = 53})), Verdict::answer);
}

TEST(FrameFilter, AaaaForAllowedNamesIsAnsweredEmptyAtOnce) {
  FilterHarness h(allowlist({"example.com"}));
  EXPECT_EQ(h.feed(udp_frame(kDnsAddress, 53, dns_query(3, "example.com", 28))), Verdict::answer);
  EXPECT_TRUE(h.resolver.lookups.empty());
  const Bytes reply = h.take_sent();
  EXPECT_EQ(get16(reply, kL4 + 8 + 2) & 0x000f, 0);
  EXPECT_EQ(get16(reply, kL4 + 8 + 6), 0);
}

TEST(FrameFilter, UpstreamFailuresBecomeServfailOrNxdomain) {
  FilterHarness h(allowlist({"example.com"}));
  h.feed(udp_frame(kDnsAddress, 53, dns_query(1, "example.com")));
  h.feed(udp_frame(kDnsAddress, 53, dns_query(2, "example.com")));
  h.resolver.fail(ResolveError::failed);
  h.resolver.fail(ResolveError::not_found);
  ASSERT_EQ(h.sent.size(), 2u);
  EXPECT_EQ(get16(h.sent[0], kL4 + 8 + 2) & 0x000f, 2);
  EXPECT_EQ(get16(h.sent[1], kL4 + 8 + 2) & 0x000f, 3);
  EXPECT_EQ(h.filter->pending_lookups(), 0u);
  EXPECT_EQ(h.feed(tcp_frame({.dst = kExample})), Verdict::answer);
}

TEST(FrameFilter, LookupsFinishingAfterTheFilterIsGoneAreIgnored) {
  FilterHarness h(allowlist({"example.com"}));
  h.feed(udp_frame(kDnsAddress, 53, dns_query(1, "example.com")));
  h.filter.reset();
  h.resolver.answer({kExample}, 60);
  EXPECT_TRUE(h.sent.empty());
}

TEST(FrameFilter, WithoutAllowDomainsDnsGoesToLibslirp) {
  FilterHarness h;
  EXPECT_EQ(h.feed(udp_frame(kDnsAddress, 53, dns_query(1, "anything.org"))), Verdict::pass);
  EXPECT_EQ(h.feed(udp_frame(ipv4(8, 8, 8, 8), 53, dns_query(1, "anything.org"))), Verdict::pass);
  EXPECT_TRUE(h.resolver.lookups.empty());
  EXPECT_TRUE(h.sent.empty());
}

TEST(FrameFilter, ResolveAllDnsAnswersEveryNameWithoutAnAllowlist) {
  PolicyConfig config;
  config.resolve_all_dns = true;
  FilterHarness h(config);
  const Bytes reply = resolve_through_filter(h, ipv4(8, 8, 8, 8), "anything.org", {kExample}, 30);
  expect_reply_to_guest(reply, ipv4(8, 8, 8, 8), 17);
  EXPECT_EQ(get32(reply, reply.size() - 4), kExample);
  EXPECT_EQ(h.filter->counters().dns_nxdomain, 0u);
  // Open mode: an address not learnt from an answer is still reachable.
  EXPECT_EQ(h.feed(tcp_frame({.dst = ipv4(93, 184, 216, 99), .flags = kSyn})), Verdict::pass);
}

TEST(FrameFilter, ForwardedUdpPortRepliesPass) {
  PolicyConfig config = allowlist({});
  config.forwarded_udp_guest_ports = {5353};
  FilterHarness h(config);
  EXPECT_EQ(h.feed(udp_frame(ipv4(192, 168, 1, 20), 40000, {1}, 5353)), Verdict::pass);
  EXPECT_EQ(h.feed(udp_frame(ipv4(192, 168, 1, 20), 40000, {1}, 5354)), Verdict::drop);
}

TEST(FrameFilter, MalformedAndUnsupportedFramesAreDroppedAndCounted) {
  FilterHarness h;
  Bytes bad_checksum = tcp_frame({.dst = kExample});
  bad_checksum[kIp + 10] ^= 0xff;
  EXPECT_EQ(h.feed(bad_checksum), Verdict::drop);
  EXPECT_EQ(h.feed(Bytes(10, 0)), Verdict::drop);
  EXPECT_EQ(h.feed(ethernet(0x86dd, Bytes(60, 0))), Verdict::drop);  // IPv6
  EXPECT_EQ(h.feed(ethernet(0x0800, ipv4_packet(47, kGuestIp, kExample, Bytes(8, 0)))),
            Verdict::drop);  // GRE
  EXPECT_EQ(h.feed(ethernet(0x0800, ipv4_packet(6, kGuestIp, kExample, Bytes(8, 0), 0x2000))),
            Verdict::drop);  // a fragment
  Bytes bad_dns = udp_frame(kDnsAddress, 53, {1, 2, 3});
  FilterHarness strict(allowlist({"a.com"}));
  EXPECT_EQ(strict.feed(bad_dns), Verdict::drop);
  EXPECT_EQ(strict.filter->counters().dns_malformed, 1u);
  const FilterCounters& c = h.filter->counters();
  EXPECT_EQ(c.malformed, 2u);
  EXPECT_EQ(c.unsupported, 3u);
  EXPECT_EQ(c.frames, 5u);
  EXPECT_EQ(c.dropped, 5u);
  EXPECT_TRUE(h.sent.empty());
}

}  // namespace
}  // namespace voidbox::net
