// The destination rules, the domain patterns and the learnt-address cache.
#include "filter/egress_policy.hpp"

#include <gtest/gtest.h>

namespace voidbox::net {
namespace {

using std::chrono::seconds;

std::optional<DenyReason> tcp(const EgressRules& rules, Ipv4 destination, std::uint16_t port = 443,
                              bool learnt = false) {
  return rules.check(IpProtocol::tcp, destination, port, learnt);
}

TEST(EgressPolicy, ReservedRangesCoverTenSlashEightExceptTheGuestNetwork) {
  const EgressRules open{PolicyConfig{}};
  for (Ipv4 a : {ipv4(10, 0, 0, 1), ipv4(10, 0, 1, 255), ipv4(10, 0, 3, 0), ipv4(10, 0, 200, 1),
                 ipv4(10, 1, 0, 0), ipv4(10, 3, 9, 9), ipv4(10, 255, 255, 255), ipv4(172, 16, 0, 1),
                 ipv4(172, 31, 255, 255), ipv4(192, 168, 1, 1), ipv4(100, 64, 0, 1),
                 ipv4(100, 127, 255, 254), ipv4(169, 254, 169, 254), ipv4(127, 0, 0, 1),
                 ipv4(0, 1, 2, 3), ipv4(224, 0, 0, 251), ipv4(255, 255, 255, 255)}) {
    EXPECT_EQ(tcp(open, a), DenyReason::reserved_range) << to_string(a);
  }
  for (Ipv4 a : {ipv4(10, 0, 2, 2), ipv4(10, 0, 2, 100), ipv4(172, 32, 0, 1), ipv4(100, 128, 0, 1),
                 ipv4(93, 184, 216, 34), ipv4(8, 8, 8, 8)}) {
    EXPECT_EQ(tcp(open, a), std::nullopt) << to_string(a);
  }
}

TEST(EgressPolicy, AllowCidrsOpenDeniedRangesAndDenyCidrsAdd) {
  PolicyConfig config;
  config.allow_cidrs = {*parse_cidr("192.168.5.0/24"), *parse_cidr("169.254.169.254")};
  config.deny_cidrs = {*parse_cidr("8.8.0.0/16")};
  config.host_addresses = {ipv4(203, 0, 113, 7)};
  const EgressRules rules{config};
  EXPECT_EQ(tcp(rules, ipv4(192, 168, 5, 9)), std::nullopt);
  EXPECT_EQ(tcp(rules, ipv4(192, 168, 6, 9)), DenyReason::reserved_range);
  EXPECT_EQ(tcp(rules, ipv4(169, 254, 169, 254)), std::nullopt);
  EXPECT_EQ(tcp(rules, ipv4(8, 8, 8, 8)), DenyReason::deny_cidr);
  EXPECT_EQ(tcp(rules, ipv4(8, 9, 8, 8)), std::nullopt);
  EXPECT_EQ(tcp(rules, ipv4(203, 0, 113, 7)), DenyReason::host_address);
}

TEST(EgressPolicy, AllowlistModeNeedsALearntAddressOrAnAllowedCidr) {
  PolicyConfig config;
  config.allow_domains = std::vector<std::string>{"example.com"};
  config.allow_cidrs = {*parse_cidr("1.1.1.0/24")};
  const EgressRules rules{config};
  EXPECT_TRUE(rules.allowlist_mode());
  EXPECT_EQ(tcp(rules, ipv4(93, 184, 216, 34)), DenyReason::not_allowlisted);
  EXPECT_EQ(tcp(rules, ipv4(93, 184, 216, 34), 443, true), std::nullopt);
  EXPECT_EQ(tcp(rules, ipv4(1, 1, 1, 1)), std::nullopt);
  // An allowed name resolving to a private address (DNS rebinding) stays denied.
  EXPECT_EQ(tcp(rules, ipv4(192, 168, 0, 1), 443, true), DenyReason::reserved_range);
}

TEST(EgressPolicy, GatewayIsHostLoopbackOnEveryPortUnlessDenied) {
  PolicyConfig config;
  config.allow_domains = std::vector<std::string>{};
  EXPECT_EQ(tcp(EgressRules{config}, kGatewayAddress, 11434), std::nullopt);
  config.deny_cidrs = {*parse_cidr("10.0.2.2/32")};
  EXPECT_EQ(tcp(EgressRules{config}, kGatewayAddress, 11434), DenyReason::deny_cidr);
  config.allow_cidrs = {*parse_cidr("10.0.2.0/24")};
  EXPECT_EQ(tcp(EgressRules{config}, kGatewayAddress, 11434), std::nullopt);
}

TEST(EgressPolicy, DnsAddressServesPort53Only) {
  const EgressRules open{PolicyConfig{}};
  EXPECT_EQ(open.check(IpProtocol::udp, kDnsAddress, 53, false), std::nullopt);
  EXPECT_EQ(open.check(IpProtocol::tcp, kDnsAddress, 53, false), std::nullopt);
  EXPECT_EQ(open.check(IpProtocol::tcp, kDnsAddress, 80, false), DenyReason::gateway_port);
  PolicyConfig config;
  config.allow_domains = std::vector<std::string>{"a.com"};
  EXPECT_EQ(EgressRules{config}.check(IpProtocol::tcp, kDnsAddress, 53, false),
            DenyReason::gateway_port);
}

TEST(EgressPolicy, DomainPatterns) {
  const std::vector<std::string> patterns = {"example.com", "*.pypi.org"};
  const DomainAllowlist allow{patterns};
  EXPECT_TRUE(allow.allows("example.com"));
  EXPECT_FALSE(allow.allows("www.example.com"));
  EXPECT_FALSE(allow.allows("notexample.com"));
  EXPECT_TRUE(allow.allows("files.pypi.org"));
  EXPECT_TRUE(allow.allows("a.b.pypi.org"));
  EXPECT_FALSE(allow.allows("pypi.org"));
  EXPECT_FALSE(allow.allows("evilpypi.org"));
  EXPECT_FALSE(allow.allows(""));
}

TEST(EgressPolicy, LearntAddressesExpireAndStayBounded) {
  LearntAddresses learnt;
  const auto t0 = Clock::time_point{} + seconds(1000);
  learnt.learn(ipv4(1, 2, 3, 4), t0 + seconds(60));
  EXPECT_TRUE(learnt.contains(ipv4(1, 2, 3, 4), t0 + seconds(59)));
  EXPECT_FALSE(learnt.contains(ipv4(1, 2, 3, 4), t0 + seconds(60)));
  EXPECT_FALSE(learnt.contains(ipv4(1, 2, 3, 5), t0));
  learnt.learn(ipv4(1, 2, 3, 4), t0 + seconds(10));  // a shorter answer does not shorten it
  EXPECT_TRUE(learnt.contains(ipv4(1, 2, 3, 4), t0 + seconds(59)));
  for (Ipv4 a = 0; a < LearntAddresses::kCapacity + 10; ++a) {
    learnt.learn(ipv4(20, 0, 0, 0) + a, t0 + seconds(100 + a));
  }
  EXPECT_EQ(learnt.size(), LearntAddresses::kCapacity);
  // The soonest to expire went first: the early 20.0.0.x and 1.2.3.4.
  EXPECT_FALSE(learnt.contains(ipv4(1, 2, 3, 4), t0));
  EXPECT_FALSE(learnt.contains(ipv4(20, 0, 0, 0), t0));
  EXPECT_TRUE(learnt.contains(ipv4(20, 0, 0, 0) + LearntAddresses::kCapacity + 9, t0));
}

TEST(EgressPolicy, CidrParsingIsStrict) {
  EXPECT_EQ(parse_cidr("10.0.0.0/8"), (Cidr{ipv4(10, 0, 0, 0), 8}));
  EXPECT_EQ(parse_cidr("1.2.3.4"), (Cidr{ipv4(1, 2, 3, 4), 32}));
  EXPECT_EQ(parse_cidr("0.0.0.0/0"), (Cidr{0, 0}));
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "010.0.0.0/8", "1.2.3", "1.2.3.4.5",
                          "256.0.0.0/8", "1.2.3.4/", "a.b.c.d", "", "::1/128"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

}  // namespace
}  // namespace voidbox::net
