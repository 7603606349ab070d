#include "runtime/network_mapping.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace voidbox::runtime {
namespace {

namespace json = boost::json;

spec::PortForward forward(std::uint16_t host, std::uint16_t guest,
                          spec::PortForward::Protocol protocol = spec::PortForward::Protocol::tcp) {
  spec::PortForward p;
  p.host_port = host;
  p.guest_port = guest;
  p.protocol = protocol;
  return p;
}

// True when nothing listens on 127.0.0.1:port (tcp) and it can be bound.
bool bindable(std::uint16_t port, int type) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

TEST(NetworkMapping, DisabledPolicyGivesNoNic) {
  spec::NetworkPolicy off;
  EXPECT_EQ(network_vm_config(off, {}, std::nullopt), json::value(false));
}

TEST(NetworkMapping, PolicyAndForwardsBecomeTheSlirpConfig) {
  spec::NetworkPolicy p;
  p.enabled = true;
  p.allow_domains = std::vector<std::string>{"example.com", "*.pypi.org"};
  p.allow_cidrs = {"10.9.0.0/16"};
  p.deny_cidrs = {"1.2.3.0/24"};
  p.max_connections_per_second = 7;
  p.max_concurrent_connections = 9;
  auto udp = forward(5353, 53, spec::PortForward::Protocol::udp);
  udp.address = "0.0.0.0";
  const json::value v =
      network_vm_config(p, {forward(8080, 80), udp}, std::string("127.0.0.1:5300"));
  const json::value want = json::parse(R"({"transport":"slirp","device_config":{},
    "transport_config":{"dns_upstream":"127.0.0.1:5300",
      "policy":{"allow_domains":["example.com","*.pypi.org"],"allow_cidrs":["10.9.0.0/16"],
                "deny_cidrs":["1.2.3.0/24"],"max_connections_per_second":7,
                "max_concurrent_connections":9},
      "forwards":[{"protocol":"tcp","host_address":"127.0.0.1","host_port":8080,"guest_port":80},
                  {"protocol":"udp","host_address":"0.0.0.0","host_port":5353,"guest_port":53}]}})");
  EXPECT_EQ(v, want) << json::serialize(v);
}

TEST(NetworkMapping, NoAllowDomainsMeansNoAllowlistKey) {
  spec::NetworkPolicy p;
  p.enabled = true;
  const json::value v = network_vm_config(p, {}, std::nullopt);
  const auto& policy = v.at("transport_config").at("policy").as_object();
  EXPECT_FALSE(policy.contains("allow_domains"));
  EXPECT_FALSE(v.at("transport_config").as_object().contains("dns_upstream"));
}

TEST(NetworkMapping, HostPortZeroGetsAFreePortAndOthersStay) {
  auto chosen = choose_host_ports(
      {forward(0, 80), forward(4321, 81), forward(0, 53, spec::PortForward::Protocol::udp)});
  ASSERT_TRUE(chosen) << chosen.error();
  ASSERT_EQ(chosen->size(), 3u);
  EXPECT_NE((*chosen)[0].host_port, 0);
  EXPECT_TRUE(bindable((*chosen)[0].host_port, SOCK_STREAM));
  EXPECT_EQ((*chosen)[1].host_port, 4321);
  EXPECT_NE((*chosen)[2].host_port, 0);
  EXPECT_TRUE(bindable((*chosen)[2].host_port, SOCK_DGRAM));
  EXPECT_EQ((*chosen)[2].guest_port, 53);
}

TEST(NetworkMapping, AnAddressThatIsNotIpv4IsAnError) {
  auto bad = forward(0, 80);
  bad.address = "localhost";
  auto chosen = choose_host_ports({bad});
  ASSERT_FALSE(chosen);
  EXPECT_NE(chosen.error().find("\"localhost\" is not an IPv4 address"), std::string::npos)
      << chosen.error();
}

TEST(NetworkMapping, DescribesPortsLikeDocker) {
  EXPECT_EQ(describe_port(forward(8080, 80)), "127.0.0.1:8080->80/tcp");
  EXPECT_EQ(describe_port(forward(1, 2, spec::PortForward::Protocol::udp)), "127.0.0.1:1->2/udp");
}

}  // namespace
}  // namespace voidbox::runtime
