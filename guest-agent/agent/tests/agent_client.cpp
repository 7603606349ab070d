#include "agent_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>

namespace voidbox::agent::test {

namespace pr = protocol;
using Clock = std::chrono::steady_clock;

AgentProcess::AgentProcess(const std::string& secret_hex, std::vector<std::string> extra_args) {
  static std::atomic<int> counter{0};
  root_ = std::filesystem::temp_directory_path() /
          ("vb-agent-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(root_);
  std::filesystem::create_directories(root_);
  socket_ = (root_ / "vsock_1234").string();
  int ready[2];
  if (::pipe(ready) != 0) throw std::runtime_error("pipe");
  std::vector<std::string> args = {
      VOIDBOX_GUEST_AGENT_PATH, "--process-mode", "--listen-unix",         socket_, "--root",
      root_.string(),           "--ready-fd",     std::to_string(ready[1])};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const std::string env = "VOIDBOX_GUEST_CMDLINE=quiet voidbox.secret=" + secret_hex;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(ready[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::putenv(const_cast<char*>(env.c_str()));
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(ready[1]);
  char buf[8];
  pollfd p{ready[0], POLLIN, 0};
  const bool ok = ::poll(&p, 1, 10000) == 1 && ::read(ready[0], buf, sizeof buf) > 0;
  ::close(ready[0]);
  if (!ok) throw std::runtime_error("agent did not become ready");
}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

Client::Client(const std::string& socket_path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(const std::vector<std::uint8_t>& frame) {
  std::size_t off = 0;
  while (off < frame.size()) {
    const ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

std::optional<pr::Frame> Client::recv(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!decoder_.has_frame()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    std::uint8_t buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    if (!decoder_.feed(std::span(buf, static_cast<std::size_t>(n)))) return std::nullopt;
  }
  return decoder_.pop();
}

std::optional<pr::Frame> Client::recv_for(std::uint32_t id, std::chrono::milliseconds timeout) {
  for (auto it = stash_.begin(); it != stash_.end(); ++it) {
    if (it->request_id == id) {
      pr::Frame f = std::move(*it);
      stash_.erase(it);
      return f;
    }
  }
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = recv(left);
    if (!f) return std::nullopt;
    if (f->request_id == id) return f;
    stash_.push_back(std::move(*f));
  }
}

bool Client::peer_closed(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  std::uint8_t b;
  return ::read(fd_, &b, 1) == 0;
}

std::optional<pr::HelloAck> Client::hello(const std::string& secret_hex, std::string* error) {
  pr::Hello h;
  h.secret_hex = secret_hex;
  h.features = {"exec", "stdin", "files", "telemetry", "pty", "policy"};
  send(pr::make_frame(0, h));
  auto f = recv_for(0);
  if (!f) {
    if (error) *error = "no reply";
    return std::nullopt;
  }
  if (f->type == pr::MessageType::Error) {
    if (error) *error = pr::decode<pr::ErrorInfo>(*f).value_or(pr::ErrorInfo{}).message;
    return std::nullopt;
  }
  auto ack = pr::decode<pr::HelloAck>(*f);
  if (!ack) return std::nullopt;
  return *ack;
}

Client::ExecResult Client::exec(std::uint32_t id, const pr::ExecStart& req,
                                std::chrono::milliseconds timeout) {
  send(pr::make_frame(id, req));
  return collect_exec(id, timeout);
}

Client::ExecResult Client::collect_exec(std::uint32_t id, std::chrono::milliseconds timeout) {
  ExecResult r;
  r.exit.exit_code = -999;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto f = recv_for(id, left);
    if (!f) break;
    if (f->type == pr::MessageType::ExecOutput && !f->payload.empty()) {
      std::string chunk(f->payload.begin() + 1, f->payload.end());
      if (f->payload[0] == 1) {
        r.out += chunk;
        r.out_chunks.push_back(chunk);
      } else {
        r.err += chunk;
      }
    } else if (f->type == pr::MessageType::ExecExit) {
      r.exit = pr::decode<pr::ExecExit>(*f).value_or(pr::ExecExit{});
      break;
    } else if (f->type == pr::MessageType::Error) {
      r.error = pr::decode<pr::ErrorInfo>(*f).value_or(pr::ErrorInfo{});
      break;
    }
  }
  return r;
}

}  // namespace voidbox::agent::test
