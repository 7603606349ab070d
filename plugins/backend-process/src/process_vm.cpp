#include "process_vm.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "agent_locator.hpp"
#include "namespaces.hpp"

extern char** environ;

namespace voidbox::process_backend {

namespace json = boost::json;

namespace {
constexpr std::uint32_t kControlPort = 1234;
constexpr std::chrono::seconds kReadyTimeout{20};
}  // namespace

std::expected<ProcessVmConfig, std::string> parse_config(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::unexpected("config is not a JSON object");
  const json::object& o = v.as_object();
  ProcessVmConfig c;
  auto str = [&](const char* key, std::string& out) -> bool {
    const json::value* f = o.if_contains(key);
    if (f == nullptr) return true;
    if (!f->is_string()) return false;
    out = std::string(f->as_string());
    return true;
  };
  if (!str("name", c.name) || !str("state_dir", c.state_dir) || !str("serial_log", c.serial_log)) {
    return std::unexpected("config: name, state_dir and serial_log must be strings");
  }
  if (c.state_dir.empty()) return std::unexpected("config: state_dir is required");
  if (const json::value* args = o.if_contains("guest_args"); args != nullptr) {
    if (!args->is_array()) return std::unexpected("config: guest_args must be an array");
    for (const auto& a : args->as_array()) {
      if (!a.is_string()) return std::unexpected("config: guest_args must hold strings");
      c.guest_args.emplace_back(a.as_string());
    }
  }
  // Host shares need a virtio device and a guest kernel to mount them; a
  // local process has neither, and quietly running without the share would
  // let a command write where the spec never allowed or read nothing.
  if (const json::value* devices = o.if_contains("devices"); devices && devices->is_array()) {
    for (const auto& d : devices->as_array()) {
      const auto* type = d.is_object() ? d.as_object().if_contains("type") : nullptr;
      if (type != nullptr && type->is_string() &&
          (type->as_string() == "virtio-9p" || type->as_string() == "virtiofs")) {
        return std::unexpected(
            "the process backend cannot share host directories (sandbox.mounts); use a VM "
            "backend such as --backend kvm");
      }
      if (type != nullptr && type->is_string() && type->as_string() == "virtio-blk") {
        return std::unexpected(
            "the process backend cannot attach disks (an agent disk needs a VM backend such as "
            "--backend kvm)");
      }
    }
  }
  if (c.serial_log.empty()) c.serial_log = c.state_dir + "/agent.log";
  return c;
}

std::string socket_path_for_port(const std::string& state_dir, std::uint32_t port) {
  return state_dir + "/vsock-" + std::to_string(port) + ".sock";
}

ProcessVm::~ProcessVm() {
  stop(1000);
  if (pidfd_ >= 0) ::close(pidfd_);
}

std::expected<void, std::string> ProcessVm::start() {
  std::lock_guard lock(mu_);
  if (pid_ > 0) return std::unexpected("already started");
  AgentSearch search = locate_guest_agent();
  if (!search.found) {
    std::string msg = "voidbox-guest-agent not found (set VOIDBOX_GUEST_AGENT); tried:";
    for (const auto& t : search.tried) msg += " " + t;
    return std::unexpected(msg);
  }
  std::string cmdline;
  for (const auto& a : config_.guest_args) {
    if (!cmdline.empty()) cmdline += ' ';
    cmdline += a;
  }
  SpawnPlan plan;
  plan.program = *search.found;
  const std::string root = config_.state_dir + "/root";
  // Commands run as the sandbox user (1000) when the agent can switch to it:
  // it must be able to reach its root through the state dir.
  ::chmod(config_.state_dir.c_str(), 0711);
  if (::mkdir(root.c_str(), 0755) != 0 && errno != EEXIST) {
    return std::unexpected("cannot create " + root + ": " + std::strerror(errno));
  }
  const std::string socket = socket_path_for_port(config_.state_dir, kControlPort);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return std::unexpected("pipe2 failed");
  plan.argv = {
      *search.found, "--process-mode", "--listen-unix", socket, "--root", root, "--ready-fd", "3"};
  plan.pass_fd = ready[1];
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("VOIDBOX_GUEST_CMDLINE=") || kv.starts_with("VOIDBOX_AGENT_")) continue;
    plan.env.emplace_back(kv);
  }
  plan.env.push_back("VOIDBOX_GUEST_CMDLINE=" + cmdline);
  plan.log_path = config_.serial_log;
  plan.working_dir = config_.state_dir;
  auto spawned = spawn_confined(plan);
  ::close(ready[1]);
  if (!spawned) {
    ::close(ready[0]);
    return std::unexpected(spawned.error());
  }
  pid_ = spawned->pid;
  pidfd_ = spawned->pidfd;
  pid_namespace_ = spawned->pid_namespace;
  note_ = spawned->fallback_note.empty() ? "namespaces: " + spawned->namespaces
                                         : spawned->fallback_note;
  // The agent says "ready" once it listens, so connect() needs no retries.
  std::string said;
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{ready[0], POLLIN, 0};
    int r = ::poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[64];
    ssize_t n = ::read(ready[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    said.append(buf, static_cast<std::size_t>(n));
    if (said.find('\n') != std::string::npos) break;
  }
  ::close(ready[0]);
  if (said.rfind("ready", 0) != 0) {
    reap_locked(0);
    return std::unexpected(exited_ ? "the guest agent exited during startup (see " +
                                         config_.serial_log + ")"
                                   : "the guest agent did not become ready in time");
  }
  return {};
}

std::expected<int, std::string> ProcessVm::connect(std::uint32_t port) {
  {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) return std::unexpected("not started");
    if (exited_) return std::unexpected("the guest agent process has exited");
  }
  std::string path = socket_path_for_port(config_.state_dir, port);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return std::unexpected("socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::string msg = "connect " + path + ": " + std::strerror(errno);
    ::close(fd);
    return std::unexpected(msg);
  }
  return fd;
}

void ProcessVm::reap_locked(std::int32_t timeout_ms) {
  if (exited_ || pid_ <= 0) return;
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r <= 0) return;
  }
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, pidfd_ >= 0 || timeout_ms == 0 ? WNOHANG : 0);
  if (r == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
}

vb_exit_info ProcessVm::wait(std::int32_t timeout_ms) {
  std::lock_guard lock(mu_);
  reap_locked(timeout_ms);
  vb_exit_info info{};
  info.struct_size = sizeof info;
  if (!exited_) {
    info.reason = VB_EXIT_RUNNING;
    return info;
  }
  if (killed_) {
    info.reason = VB_EXIT_KILLED;
  } else if (WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0) {
    info.reason = VB_EXIT_POWEROFF;
  } else {
    info.reason = VB_EXIT_CRASH;
  }
  info.code = WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : 128 + WTERMSIG(wait_status_);
  std::snprintf(info.detail, sizeof info.detail, "guest agent process %d %s %d", pid_,
                WIFEXITED(wait_status_) ? "exited with" : "killed by signal",
                WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : WTERMSIG(wait_status_));
  return info;
}

void ProcessVm::stop(std::int32_t timeout_ms) {
  std::lock_guard lock(mu_);
  if (pid_ <= 0 || exited_) return;
  killed_ = true;
  // Nothing in the agent needs flushing, so this is a power cut. The agent is
  // init of its pid namespace, so SIGKILL to it ends every process inside;
  // without a pid namespace its session is its process group.
  (void)timeout_ms;
  ::kill(pid_, SIGKILL);
  if (!pid_namespace_) ::kill(-pid_, SIGKILL);
  reap_locked(-1);
}

}  // namespace voidbox::process_backend
