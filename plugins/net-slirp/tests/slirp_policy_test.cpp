// The egress policy as the transport enforces it: the policy resolver
// answering every DNS query from a real upstream, and connections allowed
// only to what allowed names resolved to.
#include <gtest/gtest.h>

#include "slirp_harness.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

struct DnsReply {
  std::uint16_t id = 0;
  int rcode = -1;
  std::vector<Ipv4> addresses;
};

// The DNS reply in a frame to the guest (answers are A records each 16 bytes).
DnsReply dns_reply_of(const Bytes& frame) {
  DnsReply out;
  auto p = parsed(frame);
  if (!p || !p->udp || p->udp->payload.size() < 12) return out;
  const Bytes msg(p->udp->payload.begin(), p->udp->payload.end());
  out.id = get16(msg, 0);
  out.rcode = msg[3] & 0x0f;
  const std::size_t answers = get16(msg, 6);
  for (std::size_t i = 0; i < answers && msg.size() >= 4 * (i + 1); ++i) {
    out.addresses.push_back(get32(msg, msg.size() - 4 - 16 * (answers - 1 - i)));
  }
  return out;
}

class AllowlistTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    h.start(R"({"dns_upstream":")" + dns.address() +
            R"(","policy":{"allow_domains":["*.example.test"]}})");
    h.introduce_guest();
  }
  DnsReply ask(Ipv4 server, std::uint16_t id, const std::string& name) {
    EXPECT_EQ(h.send(udp_frame(server, 53, dns_query(id, name), 50000)), VB_OK);
    Bytes frame = h.device.wait_for([&](const Bytes& f) {
      if (!is_udp_from(f, server, 53)) return false;
      return dns_reply_of(f).id == id;
    });
    EXPECT_FALSE(frame.empty()) << "no answer from " << to_string(server) << " for " << name;
    return dns_reply_of(frame);
  }

  TinyDnsServer dns;
  TransportHarness h;
};

TEST_F(AllowlistTransport, AnswersQueriesToAnyServerFromTheUpstream) {
  const DnsReply direct = ask(kDnsAddress, 0x1111, "www.example.test");
  EXPECT_EQ(direct.rcode, 0);
  EXPECT_EQ(direct.addresses, std::vector<Ipv4>{TinyDnsServer::kAnswer});
  // A guest that ignores resolv.conf and asks another server gets the same.
  const DnsReply elsewhere = ask(ipv4(8, 8, 8, 8), 0x2222, "api.example.test");
  EXPECT_EQ(elsewhere.rcode, 0);
  EXPECT_EQ(elsewhere.addresses, std::vector<Ipv4>{TinyDnsServer::kAnswer});
  EXPECT_EQ(dns.queries.load(), 2);
}

TEST_F(AllowlistTransport, IgnoresAnswersToAnotherQueryId) {
  const DnsReply reply = ask(kDnsAddress, 0x7777, "liar.example.test");
  EXPECT_EQ(reply.rcode, 0);
  EXPECT_EQ(reply.addresses, std::vector<Ipv4>{TinyDnsServer::kAnswer});
}

TEST_F(AllowlistTransport, PassesNxdomainAndTurnsSilenceIntoServfail) {
  EXPECT_EQ(ask(kDnsAddress, 0x3333, "gone.example.test").rcode, 3);
  // Not allowed: NXDOMAIN without asking the upstream.
  EXPECT_EQ(ask(kDnsAddress, 0x4444, "www.other.test").rcode, 3);
  {
    std::lock_guard lock(dns.names_mutex);
    EXPECT_EQ(dns.names, std::vector<std::string>{"gone.example.test"});
  }
  // The upstream never answers: one retry, then SERVFAIL (2 s + 2 s, within
  // the hang guard).
  EXPECT_EQ(ask(kDnsAddress, 0x5555, "silent.example.test").rcode, 2);
  EXPECT_EQ(dns.queries.load(), 3);
  EXPECT_TRUE(h.wait_describe([](const boost::json::object& d) {
    return d.at("counters").at("dns_servfail").to_number<int>() == 1 &&
           d.at("counters").at("dns_nxdomain").to_number<int>() == 2;
  }));
}

TEST_F(AllowlistTransport, ConnectsOnlyToLearntAddresses) {
  ASSERT_EQ(ask(kDnsAddress, 0x6666, "www.example.test").addresses,
            std::vector<Ipv4>{TinyDnsServer::kAnswer});
  const std::uint64_t passed_before = h.counter("passed");
  ASSERT_EQ(h.send(tcp_frame({.dst = TinyDnsServer::kAnswer, .dport = 443, .sport = 41000})),
            VB_OK);
  const Ipv4 other = ipv4(198, 51, 100, 9);
  ASSERT_EQ(h.send(tcp_frame({.dst = other, .dport = 443, .sport = 41001})), VB_OK);
  Bytes rst = h.device.wait_for([&](const Bytes& f) { return is_tcp(f, other, 443, 41001, kRst); });
  ASSERT_FALSE(rst.empty()) << "no RST for a connection to an address no allowed name has";
  ASSERT_TRUE(h.wait_describe([&](const boost::json::object& d) {
    return d.at("counters").at("passed").to_number<std::uint64_t>() >= passed_before + 1 &&
           d.at("counters").at("tcp_refused").to_number<int>() == 1;
  }));
  const boost::json::object described = h.describe();
  const boost::json::array& denials = described.at("denials").as_array();
  ASSERT_EQ(denials.size(), 1u);
  EXPECT_EQ(denials[0].at("destination"), "198.51.100.9");
  EXPECT_EQ(denials[0].at("reason"), "not_allowlisted");
}

}  // namespace
}  // namespace voidbox::net
