// The net-slirp config: the documented shape parses, and every mistake is
// an error naming the key.
#include "transport/transport_config.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "transport/host_info.hpp"

namespace voidbox::net {
namespace {

TEST(TransportConfig, ParsesTheDocumentedShape) {
  auto config = parse_transport_config(R"({"mtu":9000,
    "dns_upstream":"127.0.0.1:5353",
    "policy":{"allow_domains":["Example.COM.","*.example.org"],"allow_cidrs":["10.9.0.0/16"],
              "deny_cidrs":["1.2.3.0/24"],"max_connections_per_second":5,"max_concurrent_connections":6},
    "forwards":[{"protocol":"tcp","host_address":"127.0.0.1","host_port":0,"guest_port":8080},
                {"protocol":"udp","host_address":"0.0.0.0","host_port":5353,"guest_port":53}]})");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->mtu, 9000u);
  ASSERT_TRUE(config->dns_upstream);
  EXPECT_EQ(config->dns_upstream->text, "127.0.0.1:5353");
  const auto* in = reinterpret_cast<const sockaddr_in*>(&config->dns_upstream->storage);
  EXPECT_EQ(ntohs(in->sin_port), 5353);
  EXPECT_EQ(config->policy.allow_domains,
            (std::vector<std::string>{"example.com", "*.example.org"}));
  EXPECT_EQ(config->policy.allow_cidrs, std::vector<Cidr>{*parse_cidr("10.9.0.0/16")});
  EXPECT_EQ(config->policy.deny_cidrs, std::vector<Cidr>{*parse_cidr("1.2.3.0/24")});
  EXPECT_EQ(config->policy.max_connections_per_second, 5u);
  EXPECT_EQ(config->policy.max_concurrent_connections, 6u);
  ASSERT_EQ(config->forwards.size(), 2u);
  EXPECT_EQ(config->forwards[1].protocol, ForwardProtocol::udp);
  EXPECT_EQ(config->forwards[1].host_address, 0u);
  EXPECT_EQ(config->forwards[1].host_port, 5353);
  EXPECT_EQ(config->forwards[1].guest_port, 53);
  EXPECT_EQ(config->policy.forwarded_udp_guest_ports, std::vector<std::uint16_t>{53});
}

TEST(TransportConfig, EverythingIsOptional) {
  for (const char* text : {"", "  ", "{}"}) {
    auto config = parse_transport_config(text);
    ASSERT_TRUE(config) << text;
    EXPECT_EQ(config->mtu, kDefaultMtu);
    EXPECT_FALSE(config->dns_upstream);
    EXPECT_FALSE(config->policy.allow_domains);  // not allowlist mode
    EXPECT_EQ(config->policy.max_connections_per_second, 50u);
    EXPECT_EQ(config->policy.max_concurrent_connections, 64u);
  }
  // An empty allow_domains is allowlist mode with nothing allowed.
  auto empty = parse_transport_config(R"({"policy":{"allow_domains":[]}})");
  ASSERT_TRUE(empty);
  ASSERT_TRUE(empty->policy.allow_domains);
  EXPECT_TRUE(empty->policy.allow_domains->empty());
  // Forwards listen on the loopback unless told otherwise.
  auto forward = parse_transport_config(R"({"forwards":[{"guest_port":22}]})");
  ASSERT_TRUE(forward);
  EXPECT_EQ(forward->forwards[0].host_address, ipv4(127, 0, 0, 1));
  EXPECT_EQ(forward->forwards[0].protocol, ForwardProtocol::tcp);
}

struct BadConfig {
  const char* json;
  const char* message;
};

TEST(TransportConfig, MistakesAreNamed) {
  const BadConfig cases[] = {
      {"{", "net-slirp config is not JSON: "},
      {"[]", "net-slirp config must be an object"},
      {R"({"mtu":1500,"colour":1})", "net-slirp config: colour: unknown key"},
      {R"({"mtu":100})", "net-slirp config: mtu: must be between 576 and 65521"},
      {R"({"mtu":"big"})", "net-slirp config: mtu: must be an integer"},
      {R"({"mtu":1.5})", "net-slirp config: mtu: must be an integer"},
      {R"({"dns_upstream":"8.8.8.8"})",
       R"(net-slirp config: dns_upstream: "8.8.8.8" is not host:port (a.b.c.d:53 or [v6]:53))"},
      {R"({"dns_upstream":"8.8.8.8:0"})", "net-slirp config: dns_upstream: \"8.8.8.8:0\""},
      {R"({"dns_upstream":"[::1:53"})", "net-slirp config: dns_upstream: \"[::1:53\""},
      {R"({"policy":[]})", "net-slirp config: policy: must be an object"},
      {R"({"policy":{"allow":[]}})", "net-slirp config: policy.allow: unknown key"},
      {R"({"policy":{"allow_domains":"a.com"}})",
       "net-slirp config: policy.allow_domains: must be an array"},
      {R"({"policy":{"allow_domains":["a.com","bad domain"]}})",
       R"(net-slirp config: policy.allow_domains[1]: "bad domain" is not a domain name or *.domain pattern)"},
      {R"({"policy":{"allow_domains":["a.*.com"]}})", "policy.allow_domains[0]: \"a.*.com\""},
      {R"({"policy":{"allow_domains":["*."]}})", "policy.allow_domains[0]: \"*.\""},
      {R"({"policy":{"allow_domains":[7]}})",
       "net-slirp config: policy.allow_domains[0]: must be a string"},
      {R"({"policy":{"allow_cidrs":["10.0.0.1/8"]}})",
       R"(net-slirp config: policy.allow_cidrs[0]: "10.0.0.1/8" is not an IPv4 CIDR (a.b.c.d/len, host bits clear))"},
      {R"({"policy":{"deny_cidrs":["1.2.3.0/24","300.0.0.0/8"]}})",
       R"(net-slirp config: policy.deny_cidrs[1]: "300.0.0.0/8")"},
      {R"({"policy":{"max_connections_per_second":0}})",
       "net-slirp config: policy.max_connections_per_second: must be between 1 and 1000000"},
      {R"({"policy":{"max_concurrent_connections":-3}})",
       "net-slirp config: policy.max_concurrent_connections: must be between 1 and 1000000"},
      {R"({"forwards":{}})", "net-slirp config: forwards: must be an array"},
      {R"({"forwards":[{"guest_port":80},{"host_port":80}]})",
       "net-slirp config: forwards[1].guest_port: is required"},
      {R"({"forwards":[{"guest_port":0}]})",
       "net-slirp config: forwards[0].guest_port: must be between 1 and 65535"},
      {R"({"forwards":[{"guest_port":80,"host_port":70000}]})",
       "net-slirp config: forwards[0].host_port: must be between 0 and 65535"},
      {R"({"forwards":[{"guest_port":80,"protocol":"sctp"}]})",
       R"(net-slirp config: forwards[0].protocol: "sctp" is neither "tcp" nor "udp")"},
      {R"({"forwards":[{"guest_port":80,"host_address":"localhost"}]})",
       R"(net-slirp config: forwards[0].host_address: "localhost" is not an IPv4 address)"},
      {R"({"forwards":[{"guest_port":80,"bind":"x"}]})",
       "net-slirp config: forwards[0].bind: unknown key"},
      {R"({"forwards":[{"guest_port":80,"host_port":8080},{"guest_port":81,"host_port":8080}]})",
       "net-slirp config: forwards[1]: tcp host port 8080 is forwarded twice"},
  };
  for (const BadConfig& c : cases) {
    auto config = parse_transport_config(c.json);
    ASSERT_FALSE(config) << c.json;
    EXPECT_EQ(config.error().status, VB_ERR_INVALID_ARGUMENT) << c.json;
    EXPECT_NE(config.error().message.find(c.message), std::string::npos)
        << c.json << " gave: " << config.error().message;
  }
  // The same port for tcp and for udp is two forwards, not one twice.
  EXPECT_TRUE(parse_transport_config(
      R"({"forwards":[{"guest_port":53,"host_port":5353},{"protocol":"udp","guest_port":53,"host_port":5353}]})"));
}

TEST(TransportConfig, UpstreamAddresses) {
  auto six = parse_socket_address("[::1]:5353");
  ASSERT_TRUE(six);
  EXPECT_EQ(six->storage.ss_family, AF_INET6);
  EXPECT_FALSE(parse_socket_address("[::1]"));
  EXPECT_FALSE(parse_socket_address("[nonsense]:53"));
  EXPECT_FALSE(parse_socket_address("1.2.3.4:53x"));
  EXPECT_FALSE(parse_socket_address("1.2.3.4:65536"));
}

TEST(HostInfo, FirstNameserverOfResolvConf) {
  auto four =
      first_nameserver("# comment\nsearch lan\nnameserver 192.168.1.1\nnameserver 9.9.9.9\n");
  ASSERT_TRUE(four);
  EXPECT_EQ(four->text, "192.168.1.1:53");
  auto six = first_nameserver("nameserver fe80::1%eth0\n  nameserver\t::1\n");
  ASSERT_TRUE(six);
  EXPECT_EQ(six->text, "[::1]:53");
  EXPECT_FALSE(first_nameserver("search lan\nnameserver\nnameserver bogus\n"));
  EXPECT_FALSE(system_nameserver("/nonexistent/resolv.conf"));
}

TEST(HostInfo, HostAddressesIncludeTheLoopback) {
  const std::vector<Ipv4> addresses = host_ipv4_addresses();
  EXPECT_NE(std::find(addresses.begin(), addresses.end(), ipv4(127, 0, 0, 1)), addresses.end());
}

TEST(HostInfo, ProbeFindsAFreePortAndReportsATakenOne) {
  auto port = probe_port(ForwardProtocol::tcp, ipv4(127, 0, 0, 1), 0);
  ASSERT_TRUE(port) << port.error().message;
  EXPECT_GT(*port, 0);
  auto udp = probe_port(ForwardProtocol::udp, ipv4(127, 0, 0, 1), 0);
  ASSERT_TRUE(udp) << udp.error().message;
  auto foreign = probe_port(ForwardProtocol::tcp, ipv4(192, 0, 2, 1), 0);  // not ours
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message.find("tcp 192.0.2.1:0: "), std::string::npos)
      << foreign.error().message;
}

}  // namespace
}  // namespace voidbox::net
