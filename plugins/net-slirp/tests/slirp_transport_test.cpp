// The slirp transport end to end on the host, without a VM: hand-built
// guest frames in, what libslirp and the filter send back out, real sockets
// on the host's loopback.
#include <gtest/gtest.h>

#include <cerrno>

#include "slirp_harness.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

TEST(SlirpTransport, AnswersArpForTheGateway) {
  TransportHarness h;
  h.start("{}");
  ASSERT_EQ(h.send(arp_request_frame(kGatewayAddress)), VB_OK);
  Bytes reply =
      h.device.wait_for([](const Bytes& f) { return f.size() >= 42 && get16(f, 12) == 0x0806; });
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(get16(reply, 20), 2);                // a reply
  EXPECT_EQ(get32(reply, 28), kGatewayAddress);  // 10.0.2.2 is at ...
  EXPECT_EQ(get32(reply, 38), kGuestIp);         // ... says the host, to the guest
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), reply.begin()));
}

TEST(SlirpTransport, GatewayPortReachesTheHostsLoopback) {
  HostListener listener;
  TransportHarness h;
  h.start("{}");
  h.introduce_guest();
  ASSERT_EQ(h.send(tcp_frame({.dst = kGatewayAddress, .dport = listener.port, .seq = 1000})),
            VB_OK);
  Bytes syn_ack = h.device.wait_for([&](const Bytes& f) {
    return is_tcp(f, kGatewayAddress, listener.port, 40000, kSyn | kAck);
  });
  ASSERT_FALSE(syn_ack.empty()) << "no SYN-ACK from 10.0.2.2:" << listener.port;
  EXPECT_EQ(get32(syn_ack, kL4 + 8), 1001u);  // acknowledges the SYN
  EXPECT_TRUE(transport_checksum_ok(syn_ack));
  EXPECT_TRUE(listener.accept_one()) << "libslirp did not connect to 127.0.0.1:" << listener.port;
  EXPECT_EQ(h.counter("tcp_refused"), 0u);
}

TEST(SlirpTransport, MetadataServiceGetsAnRstAndIsReported) {
  TransportHarness h;
  h.start("{}");
  const Ipv4 metadata = ipv4(169, 254, 169, 254);
  ASSERT_EQ(h.send(tcp_frame({.dst = metadata, .dport = 80})), VB_OK);
  Bytes rst =
      h.device.wait_for([&](const Bytes& f) { return is_tcp(f, metadata, 80, 40000, kRst); });
  ASSERT_FALSE(rst.empty()) << "no RST for 169.254.169.254:80";
  EXPECT_TRUE(h.wait_describe([](const boost::json::object& d) {
    return d.at("counters").at("tcp_refused").to_number<int>() == 1;
  }));
  const boost::json::object described = h.describe();
  const boost::json::array& denials = described.at("denials").as_array();
  ASSERT_EQ(denials.size(), 1u);
  EXPECT_EQ(denials[0], (boost::json::value{{"protocol", "tcp"},
                                            {"destination", "169.254.169.254"},
                                            {"port", 80},
                                            {"reason", "reserved_range"}}));
  EXPECT_EQ(denial_message({IpProtocol::tcp, metadata, 80, DenyReason::reserved_range}),
            "denied tcp 169.254.169.254:80 (reserved_range)");
}

TEST(SlirpTransport, PickedForwardPortConnectsToTheGuest) {
  TransportHarness h;
  h.start(R"({"forwards":[{"protocol":"tcp","host_port":0,"guest_port":8080},
                          {"protocol":"udp","host_port":0,"guest_port":5353}]})");
  const boost::json::array forwards = h.describe().at("forwards").as_array();
  ASSERT_EQ(forwards.size(), 2u);
  EXPECT_EQ(forwards[0].at("protocol"), "tcp");
  EXPECT_EQ(forwards[0].at("host_address"), "127.0.0.1");
  EXPECT_EQ(forwards[0].at("guest_port"), 8080);
  const int tcp_port = forwards[0].at("host_port").to_number<int>();
  const int udp_port = forwards[1].at("host_port").to_number<int>();
  ASSERT_GT(tcp_port, 0);
  ASSERT_GT(udp_port, 0);

  sdk::UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<std::uint16_t>(tcp_port));
  ::connect(client.get(), reinterpret_cast<sockaddr*>(&to), sizeof to);
  Bytes syn = h.device.wait_for([](const Bytes& f) {
    auto p = parsed(f);
    return p && p->tcp && p->ip->destination == kGuestIp && p->tcp->destination_port == 8080 &&
           (p->tcp->flags & (kSyn | kAck)) == kSyn;
  });
  EXPECT_FALSE(syn.empty()) << "no SYN to 10.0.2.15:8080 after connecting to " << tcp_port;

  sdk::UniqueFd sender(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  to.sin_port = htons(static_cast<std::uint16_t>(udp_port));
  const char ping[] = "ping";
  ASSERT_EQ(::sendto(sender.get(), ping, 4, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 4);
  Bytes datagram = h.device.wait_for([](const Bytes& f) {
    auto p = parsed(f);
    return p && p->udp && p->ip->destination == kGuestIp && p->udp->destination_port == 5353;
  });
  ASSERT_FALSE(datagram.empty()) << "no datagram to 10.0.2.15:5353";
  EXPECT_EQ(std::string(datagram.end() - 4, datagram.end()), "ping");

  // Destroying the transport closes the forwarded listener.
  h.device.transport = nullptr;
  h.transport.reset();
  sdk::UniqueFd late(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  to.sin_port = htons(static_cast<std::uint16_t>(tcp_port));
  EXPECT_NE(::connect(late.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  EXPECT_EQ(errno, ECONNREFUSED);
}

TEST(SlirpTransport, ForwardOfAPortInUseFailsStartNamingIt) {
  HostListener taken;
  FakeDevice device;
  auto made = SlirpTransport::create(
      R"({"forwards":[{"host_port":)" + std::to_string(taken.port) + R"(,"guest_port":80}]})",
      device.port);
  ASSERT_TRUE(made) << made.error().message;
  auto started = (*made)->start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().status, VB_ERR_IO);
  EXPECT_NE(started.error().message.find("tcp 127.0.0.1:" + std::to_string(taken.port)),
            std::string::npos)
      << started.error().message;
  EXPECT_NE(started.error().message.find("in use"), std::string::npos) << started.error().message;
}

TEST(SlirpTransport, FullQueueAndOversizeFramesAreDropped) {
  FakeDevice device;
  auto made = SlirpTransport::create(R"({"mtu":1500})", device.port);
  ASSERT_TRUE(made);
  const vb_frame_port* port = (*made)->port();
  const Bytes frame = arp_request_frame(kGatewayAddress);
  // Not started: nothing drains the queue.
  for (std::size_t i = 0; i < FrameQueue::kMaxFrames; ++i) {
    ASSERT_EQ(port->send(port->ctx, frame.data(), frame.size()), VB_OK) << i;
  }
  EXPECT_EQ(port->send(port->ctx, frame.data(), frame.size()), VB_ERR_IO);
  const Bytes jumbo(1500 + 18 + 1, 0);
  EXPECT_EQ(port->send(port->ctx, jumbo.data(), jumbo.size()), VB_ERR_INVALID_ARGUMENT);
  auto counters = boost::json::parse((*made)->describe()).at("counters");
  EXPECT_EQ(counters.at("queue_drops"), 1);
  EXPECT_EQ(counters.at("oversize_drops"), 1);
}

TEST(SlirpTransport, DestroyWithFramesInFlightStopsCallingTheDevice) {
  HostListener listener;
  FakeDevice device;
  auto made = SlirpTransport::create("{}", device.port);
  ASSERT_TRUE(made);
  std::unique_ptr<SlirpTransport> transport = std::move(*made);
  device.transport = transport->port();
  ASSERT_TRUE(transport->start());
  const vb_frame_port* port = transport->port();
  std::thread guest([&] {
    const Bytes arp = arp_request_frame(kGatewayAddress);
    for (int i = 0; i < 3000; ++i) {
      const Bytes syn = tcp_frame({.dst = i % 2 ? kGatewayAddress : ipv4(169, 254, 169, 254),
                                   .dport = listener.port,
                                   .sport = static_cast<std::uint16_t>(20000 + i)});
      port->send(port->ctx, i % 3 ? syn.data() : arp.data(), i % 3 ? syn.size() : arp.size());
    }
  });
  // The loop is busy with the burst when the transport goes away.
  EXPECT_FALSE(device.wait_for([](const Bytes&) { return true; }).empty());
  guest.join();  // the VMM unplugs the device (set_peer(NULL)) before destroying
  device.transport = nullptr;
  transport.reset();
  device.closed = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(device.after_close.load(), 0);
}

}  // namespace
}  // namespace voidbox::net
