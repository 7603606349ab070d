// Loads the real libnet-slirp.so through the project's plugin loader and
// drives the transport through its C vtable, as the VMM does.
#include <gtest/gtest.h>

#include <mutex>

#include "slirp_harness.hpp"
#include "voidbox/plugin/loader.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

struct LoadedTransport {
  std::mutex mutex;
  std::vector<std::string> warnings;
  plugin::Loader loader{
      plugin::LoaderOptions{[this](vb_log_level level, std::string_view, std::string_view message) {
                              std::lock_guard lock(mutex);
                              if (level == VB_LOG_WARN) warnings.emplace_back(message);
                            },
                            true,
                            {}}};
  const vb_transport_vtable* vtable = nullptr;

  LoadedTransport() {
    if (!loader.load_file(VOIDBOX_NET_SLIRP_PLUGIN_PATH)) return;
    auto factory = loader.find(VB_KIND_TRANSPORT, "slirp");
    if (factory) vtable = static_cast<const vb_transport_vtable*>(factory->vtable);
  }
  bool warned(const std::string& text) {
    std::lock_guard lock(mutex);
    return std::find(warnings.begin(), warnings.end(), text) != warnings.end();
  }
};

TEST(NetSlirpPlugin, RegistersTheSlirpTransport) {
  LoadedTransport t;
  ASSERT_NE(t.vtable, nullptr) << "cannot load " << VOIDBOX_NET_SLIRP_PLUGIN_PATH << ": "
                               << (t.loader.failures().empty() ? std::string("no factory")
                                                               : t.loader.failures()[0].reason);
  const auto plugins = t.loader.plugins();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].name, "net-slirp");
  EXPECT_EQ(plugins[0].path.filename(), "libnet-slirp.so");
}

TEST(NetSlirpPlugin, BadConfigIsAnErrorThroughTheAbi) {
  LoadedTransport t;
  ASSERT_NE(t.vtable, nullptr);
  FakeDevice device;
  sdk::ErrorBuffer error;
  vb_transport* transport = nullptr;
  const std::string config = R"({"mtu":12})";
  EXPECT_EQ(t.vtable->create(config.data(), config.size(), &device.port, &transport, error.get()),
            VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(transport, nullptr);
  EXPECT_EQ(error.message(), "net-slirp config: mtu: must be between 576 and 65521");
}

TEST(NetSlirpPlugin, MovesFramesAndLogsDenialsOnce) {
  LoadedTransport t;
  ASSERT_NE(t.vtable, nullptr);
  FakeDevice device;
  sdk::ErrorBuffer error;
  vb_transport* transport = nullptr;
  ASSERT_EQ(t.vtable->create("{}", 2, &device.port, &transport, error.get()), VB_OK)
      << error.message();
  const vb_frame_port* port = t.vtable->port(transport);
  device.transport = port;
  ASSERT_EQ(t.vtable->start(transport, error.get()), VB_OK) << error.message();

  const Bytes arp = arp_request_frame(kGatewayAddress);
  ASSERT_EQ(port->send(port->ctx, arp.data(), arp.size()), VB_OK);
  EXPECT_FALSE(device.wait_for([](const Bytes& f) { return get16(f, 12) == 0x0806; }).empty());

  const Ipv4 metadata = ipv4(169, 254, 169, 254);
  for (std::uint16_t sport : {40000, 40001}) {
    const Bytes syn = tcp_frame({.dst = metadata, .dport = 80, .sport = sport});
    ASSERT_EQ(port->send(port->ctx, syn.data(), syn.size()), VB_OK);
    EXPECT_FALSE(
        device.wait_for([&](const Bytes& f) { return is_tcp(f, metadata, 80, sport, kRst); })
            .empty());
  }
  EXPECT_TRUE(t.warned("denied tcp 169.254.169.254:80 (reserved_range)"));
  {
    std::lock_guard lock(t.mutex);
    EXPECT_EQ(t.warnings.size(), 1u);  // the second SYN is a repeat
  }
  // describe: the length first, then the text. The counters are a
  // snapshot the loop publishes after each round.
  boost::json::object described;
  const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
  do {
    const size_t length = t.vtable->describe(transport, nullptr, 0);
    std::string text(length + 1, '\0');
    ASSERT_EQ(t.vtable->describe(transport, text.data(), text.size()), length);
    text.resize(length);
    described = boost::json::parse(text).as_object();
  } while (described.at("counters").at("tcp_refused").to_number<int>() < 2 &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(described.at("counters").at("tcp_refused").to_number<int>(), 2);
  EXPECT_EQ(described.at("counters").at("denials_reported").to_number<int>(), 1);
  EXPECT_EQ(described.at("counters").at("denials_unreported").to_number<int>(), 1);
  EXPECT_EQ(described.at("denials").as_array().size(), 1u);
  EXPECT_TRUE(described.at("forwards").as_array().empty());
  EXPECT_EQ(described.at("counters").at("frames_to_guest").to_number<int>(), 3);
  t.vtable->destroy(transport);
}

}  // namespace
}  // namespace voidbox::net
