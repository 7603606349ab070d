// transport_vtable<T>() driven through the C vtable as the VMM would: the
// wiring checks, the describe() buffer contract and the exception firewall.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "voidbox/sdk/transport.hpp"

namespace {

using voidbox::sdk::ErrorBuffer;
using voidbox::sdk::fail;
using voidbox::sdk::Result;

struct Wire {
  std::vector<std::string> frames;
  static vb_status send(void* ctx, const std::uint8_t* frame, size_t len) {
    static_cast<Wire*>(ctx)->frames.emplace_back(reinterpret_cast<const char*>(frame), len);
    return VB_OK;
  }
};

// Echoes every guest frame straight back to the guest.
class EchoTransport final : public voidbox::sdk::Transport {
 public:
  static inline int live = 0;
  static Result<std::unique_ptr<EchoTransport>> create(std::string_view config,
                                                       const vb_frame_port& to_guest) {
    if (config == "throw") throw std::invalid_argument("bad config");
    if (config == "refuse") return fail(VB_ERR_INVALID_ARGUMENT, "refused config");
    return std::make_unique<EchoTransport>(to_guest, std::string(config));
  }
  EchoTransport(const vb_frame_port& to_guest, std::string config)
      : to_guest_(to_guest), config_(std::move(config)) {
    ++live;
  }
  ~EchoTransport() override { --live; }
  const vb_frame_port* port() noexcept override { return &port_; }
  Result<> start() override {
    if (config_ == "start-throws") throw std::runtime_error("start exploded");
    if (config_ == "start-fails") return fail(VB_ERR_IO, "port 80 in use");
    started_ = true;
    return {};
  }
  std::string describe() override {
    if (config_ == "describe-throws") throw std::runtime_error("no");
    return R"({"started":)" + std::string(started_ ? "true" : "false") + "}";
  }

 private:
  static vb_status echo(void* ctx, const std::uint8_t* frame, size_t len) {
    auto* self = static_cast<EchoTransport*>(ctx);
    if (!self->started_) return VB_ERR_IO;
    return self->to_guest_.send(self->to_guest_.ctx, frame, len);
  }
  const vb_frame_port& to_guest_;
  std::string config_;
  bool started_ = false;
  vb_frame_port port_{sizeof(vb_frame_port), this, &echo};
};

const vb_transport_vtable* vt() {
  return voidbox::sdk::transport_vtable<EchoTransport>();
}

TEST(TransportVtable, WiresFramesThroughTheCAbi) {
  ASSERT_EQ(vt()->struct_size, sizeof(vb_transport_vtable));
  Wire wire;
  const vb_frame_port to_guest{sizeof(vb_frame_port), &wire, &Wire::send};
  ErrorBuffer error;
  vb_transport* t = nullptr;
  ASSERT_EQ(vt()->create("{}x", 2, &to_guest, &t, error.get()), VB_OK);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(EchoTransport::live, 1);
  const vb_frame_port* port = vt()->port(t);
  ASSERT_NE(port, nullptr);
  const std::uint8_t frame[] = {1, 2, 3};
  EXPECT_EQ(port->send(port->ctx, frame, sizeof frame), VB_ERR_IO);  // not started yet
  ASSERT_EQ(vt()->start(t, error.get()), VB_OK);
  EXPECT_EQ(port->send(port->ctx, frame, sizeof frame), VB_OK);
  EXPECT_EQ(wire.frames, std::vector<std::string>{std::string("\1\2\3")});
  vt()->destroy(t);
  EXPECT_EQ(EchoTransport::live, 0);
  vt()->destroy(nullptr);
}

TEST(TransportVtable, RefusesIncompletePortsAndNullHandles) {
  Wire wire;
  ErrorBuffer error;
  vb_transport* t = reinterpret_cast<vb_transport*>(0x1);
  EXPECT_EQ(vt()->create("{}", 2, nullptr, &t, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(t, nullptr);
  EXPECT_EQ(error.message(), "to_guest is not a complete frame port");
  const vb_frame_port no_send{sizeof(vb_frame_port), &wire, nullptr};
  EXPECT_EQ(vt()->create("{}", 2, &no_send, &t, error.get()), VB_ERR_INVALID_ARGUMENT);
  const vb_frame_port short_port{sizeof(size_t), &wire, &Wire::send};
  EXPECT_EQ(vt()->create("{}", 2, &short_port, &t, error.get()), VB_ERR_INVALID_ARGUMENT);
  const vb_frame_port good{sizeof(vb_frame_port), &wire, &Wire::send};
  EXPECT_EQ(vt()->create("{}", 2, &good, nullptr, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(vt()->port(nullptr), nullptr);
  EXPECT_EQ(vt()->start(nullptr, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(EchoTransport::live, 0);
}

TEST(TransportVtable, TurnsFailuresAndExceptionsIntoStatus) {
  Wire wire;
  const vb_frame_port to_guest{sizeof(vb_frame_port), &wire, &Wire::send};
  ErrorBuffer error;
  vb_transport* t = nullptr;
  EXPECT_EQ(vt()->create("refuse", 6, &to_guest, &t, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(error.message(), "refused config");
  EXPECT_EQ(vt()->create("throw", 5, &to_guest, &t, error.get()), VB_ERR_INTERNAL);
  EXPECT_EQ(error.message(), "bad config");
  EXPECT_EQ(t, nullptr);

  ASSERT_EQ(vt()->create("start-fails", 11, &to_guest, &t, error.get()), VB_OK);
  EXPECT_EQ(vt()->start(t, error.get()), VB_ERR_IO);
  EXPECT_EQ(error.message(), "port 80 in use");
  vt()->destroy(t);
  ASSERT_EQ(vt()->create("start-throws", 12, &to_guest, &t, error.get()), VB_OK);
  EXPECT_EQ(vt()->start(t, error.get()), VB_ERR_INTERNAL);
  EXPECT_EQ(error.message(), "start exploded");
  vt()->destroy(t);
  EXPECT_EQ(EchoTransport::live, 0);
}

TEST(TransportVtable, DescribeReportsTheLengthItNeeds) {
  Wire wire;
  const vb_frame_port to_guest{sizeof(vb_frame_port), &wire, &Wire::send};
  ErrorBuffer error;
  vb_transport* t = nullptr;
  ASSERT_EQ(vt()->create("{}", 2, &to_guest, &t, error.get()), VB_OK);
  const std::string expected = R"({"started":false})";
  char small[4] = {'q', 'q', 'q', 'q'};
  EXPECT_EQ(vt()->describe(t, small, sizeof small), expected.size());
  EXPECT_EQ(small[0], '\0');
  EXPECT_EQ(vt()->describe(t, nullptr, 0), expected.size());
  std::vector<char> exact(expected.size() + 1, 'q');
  ASSERT_EQ(vt()->describe(t, exact.data(), exact.size()), expected.size());
  EXPECT_EQ(std::string(exact.data()), expected);
  // One byte short: no room for the NUL, so nothing useful is written.
  std::vector<char> short_by_one(expected.size(), 'q');
  EXPECT_EQ(vt()->describe(t, short_by_one.data(), short_by_one.size()), expected.size());
  EXPECT_EQ(short_by_one[0], '\0');
  vt()->destroy(t);

  ASSERT_EQ(vt()->create("describe-throws", 15, &to_guest, &t, error.get()), VB_OK);
  char buf[16];
  EXPECT_EQ(vt()->describe(t, buf, sizeof buf), 2u);
  EXPECT_STREQ(buf, "{}");
  vt()->destroy(t);
}

}  // namespace
