// The control channel against a scripted fake guest on a socketpair:
// connect retries, authentication, reconnect after a dropped connection,
// per-call deadlines and bounded close.
#include "control/control_channel.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

namespace voidbox::control {
namespace {

namespace proto = voidbox::protocol;
using namespace std::chrono_literals;

proto::Secret secret_of(std::uint8_t b) {
  proto::Secret s{};
  s.fill(b);
  return s;
}

// One fake guest connection: answers Hello (checking the secret), Ping, and
// Stat; "hangs" (never answers) Mkdir; closes on FileRead.
class FakeGuest {
 public:
  FakeGuest(int fd, proto::Secret secret) : fd_(fd), secret_(secret) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeGuest() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }

 private:
  void send(const std::vector<std::uint8_t>& frame) {
    (void)!::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
  }
  void serve() {
    proto::FrameDecoder decoder;
    std::uint8_t buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return;
      if (!decoder.feed({buf, static_cast<std::size_t>(n)})) return;
      while (decoder.has_frame()) {
        proto::Frame f = decoder.pop();
        switch (f.type) {
          case proto::MessageType::Hello: {
            auto hello = proto::decode<proto::Hello>(f);
            auto check = proto::check_hello(*hello, secret_);
            if (!check) {
              send(proto::make_error_frame(0, check.error().code, check.error().message));
              ::shutdown(fd_, SHUT_RDWR);
              return;
            }
            proto::HelloAck ack;
            ack.version = *check;
            send(proto::make_frame(0, ack));
            break;
          }
          case proto::MessageType::Ping:
            send(proto::encode_frame(proto::MessageType::Pong, 0, f.request_id, f.payload));
            break;
          case proto::MessageType::Stat: {
            proto::StatResult r;
            r.exists = true;
            r.size = 42;
            send(proto::make_frame(f.request_id, r));
            break;
          }
          case proto::MessageType::FileRead:
            ::shutdown(fd_, SHUT_RDWR);
            return;
          default:
            break;  // Mkdir and the rest: never answered
        }
      }
    }
  }

  int fd_;
  proto::Secret secret_;
  std::thread thread_;
};

// Hands out socketpairs whose other end a FakeGuest serves; fails the first
// `refusals` dials as a guest that is still booting would.
struct FakeVm {
  proto::Secret guest_secret = secret_of(7);
  std::atomic<int> refusals{0};
  std::atomic<int> dials{0};
  std::vector<std::unique_ptr<FakeGuest>> guests;
  std::mutex mu;

  Connector connector() {
    return [this]() -> std::expected<int, std::string> {
      ++dials;
      if (refusals > 0) {
        --refusals;
        return std::unexpected("connection refused");
      }
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        return std::unexpected("socketpair failed");
      }
      std::lock_guard lock(mu);
      guests.push_back(std::make_unique<FakeGuest>(sv[1], guest_secret));
      return sv[0];
    };
  }
};

// Long enough that only a hang trips it; how fast things are is voidbox-bench's job.
constexpr auto kHangGuard = std::chrono::seconds(10);

ChannelOptions options(proto::Secret s) {
  ChannelOptions o;
  o.secret = s;
  o.connect_deadline = kHangGuard;
  o.rpc_timeout = 300ms;
  return o;
}

TEST(ControlChannel, ConnectsLazilyAndRetriesWhileTheGuestBoots) {
  FakeVm vm;
  vm.refusals = 4;
  ControlChannel ch(vm.connector(), options(vm.guest_secret));
  EXPECT_EQ(vm.dials.load(), 0);  // nothing until the first call
  auto hello = ch.connect();
  ASSERT_TRUE(hello) << hello.error().message;
  EXPECT_EQ(vm.dials.load(), 5);
  EXPECT_TRUE(ch.ping());
}

TEST(ControlChannel, GivesUpAtTheDeadlineWithTheLastError) {
  FakeVm vm;
  vm.refusals = 1000000;
  auto o = options(vm.guest_secret);
  o.connect_deadline = 300ms;
  ControlChannel ch(vm.connector(), o);
  auto start = std::chrono::steady_clock::now();
  auto r = ch.ping();
  ASSERT_FALSE(r);
  // Gave up because of the deadline: says so, with the last dial's error.
  EXPECT_EQ(r.error().kind, ChannelError::Kind::connect);
  EXPECT_NE(r.error().message.find("could not reach the guest agent"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("connection refused"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, kHangGuard);
  EXPECT_LT(vm.dials.load(), 40);  // backoff, not a busy loop
}

TEST(ControlChannel, StopsDialingWhenTheVmIsGone) {
  FakeVm vm;
  vm.refusals = 1000000;
  ControlChannel ch(vm.connector(), options(vm.guest_secret),
                    [] { return std::optional<std::string>("vm exited (panic)"); });
  auto r = ch.connect();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("panic"), std::string::npos);
  EXPECT_LE(vm.dials.load(), 1);
}

TEST(ControlChannel, WrongSecretFailsAtOnceAsAuth) {
  FakeVm vm;
  ControlChannel ch(vm.connector(), options(secret_of(9)));
  auto r = ch.connect();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ChannelError::Kind::auth);
  EXPECT_EQ(vm.dials.load(), 1);  // not retried
}

TEST(ControlChannel, UnansweredCallHitsItsDeadlineAndTheChannelStaysUsable) {
  FakeVm vm;
  ControlChannel ch(vm.connector(), options(vm.guest_secret));
  auto start = std::chrono::steady_clock::now();
  auto r = ch.mkdir("/workspace/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ChannelError::Kind::timeout) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, kHangGuard);
  auto st = ch.stat("/workspace");
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->size, 42u);
  EXPECT_EQ(vm.dials.load(), 1);
}

TEST(ControlChannel, ReconnectsAfterTheConnectionDies) {
  FakeVm vm;
  ControlChannel ch(vm.connector(), options(vm.guest_secret));
  ASSERT_TRUE(ch.ping());
  auto lost = ch.read_file("/workspace/f");  // the fake guest hangs up
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().kind, ChannelError::Kind::closed);
  auto again = ch.ping();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(vm.dials.load(), 2);
}

TEST(ControlChannel, CloseEndsACallThatIsStillDialing) {
  FakeVm vm;
  vm.refusals = 1000000;
  auto o = options(vm.guest_secret);
  o.connect_deadline = std::chrono::hours(1);  // only close() can end the call
  ControlChannel ch(vm.connector(), o);
  std::promise<std::optional<ChannelError>> ended;
  std::thread caller([&] {
    auto r = ch.ping();
    ended.set_value(r ? std::nullopt : std::optional(r.error()));
  });
  while (vm.dials.load() < 2) std::this_thread::yield();  // dialing, between attempts
  ch.close();
  auto result = ended.get_future();
  ASSERT_EQ(result.wait_for(kHangGuard), std::future_status::ready) << "close did not end the call";
  caller.join();
  const auto e = result.get();
  ASSERT_TRUE(e) << "ping succeeded with no guest to answer it";
  EXPECT_EQ(e->kind, ChannelError::Kind::closed) << e->message;
}

}  // namespace
}  // namespace voidbox::control
