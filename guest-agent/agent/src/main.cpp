// voidbox-guest-agent: PID 1 of a VoidBox VM, or a local process for the
// process backend. See --help.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>

#include "agent_context.hpp"
#include "connection.hpp"
#include "init_system.hpp"
#include "listener.hpp"
#include "log.hpp"
#include "modules.hpp"
#include "network_setup.hpp"
#include "root_switch.hpp"
#include "shares.hpp"

namespace agent = voidbox::agent;
namespace pr = voidbox::protocol;

namespace {

constexpr const char* kUsage = R"(Usage: voidbox-guest-agent [options]

The VoidBox guest agent. As PID 1 of a VM (no options needed) it mounts the
basic filesystems, loads the kernel modules under /lib/modules/$(uname -r) in
dependency order, sets the clock from voidbox.clock=, reads the session secret
from voidbox.secret= on /proc/cmdline, switches its root to the ext4 disk
named by voidbox.root=<serial> (read-only, under a tmpfs overlay) if given,
mounts the host shares named by voidbox.mount<N>=<tag>,<path>,ro|rw[,virtiofs]
(virtio-9p, or virtio-fs) and the ext4 disks named by
voidbox.disk<N>=<serial>,<path>,ro|rw (virtio-blk; failures of either are
reported in the handshake), and serves the VoidBox protocol on vsock port 1234.

Process mode (for the process backend):
  --process-mode        run as an ordinary process: no mounts, no modules;
                        the secret comes from $VOIDBOX_GUEST_CMDLINE (the same
                        words as a kernel command line, e.g.
                        "voidbox.secret=<64 hex>"), which is then unset
  --listen-unix PATH    accept connections on a Unix stream socket at PATH
  --listen-fd N         accept connections on the listening socket fd N
  --fd N                serve the connected stream socket fd N, then exit
  --root DIR            guest paths (/workspace, /home, /tmp, cwd, HOME) map
                        to DIR/workspace ...; created if missing (default /)
  --once                exit after the first connection ends
  --ready-fd N          write "ready\n" to fd N and close it once listening

Common:
  --listen-vsock PORT   vsock port (default 1234; VM mode)
  --debug               debug logging
  --version             print the agent version
  -h, --help            this text

Logs go to /dev/kmsg as PID 1 (never to the console), to stderr otherwise.
Commands run as uid/gid 1000 when the agent is root (as PID 1, or in process
mode when uid 1000 is mapped); otherwise as the agent's own user. HelloAck
reports which in capabilities.exec_uid / dropped_privileges.
)";

struct Options {
  bool process_mode = false;
  std::string listen_unix;
  int listen_fd = -1;
  int conn_fd = -1;
  std::string root = "/";
  bool once = false;
  int ready_fd = -1;
  std::uint32_t vsock_port = pr::kVsockPort;
  bool debug = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "voidbox-guest-agent: %s\n(see --help)\n", msg.c_str());
  std::exit(2);
}

int parse_int(const char* s, const char* flag) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > 0x7fffffff)
    usage_error(std::string("bad number for ") + flag + ": " + s);
  return static_cast<int>(v);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--version") {
      std::printf("voidbox-guest-agent %s (protocol %u..%u)\n", agent::kAgentVersion,
                  pr::kMinVersion, pr::kMaxVersion);
      std::exit(0);
    } else if (a == "--process-mode") {
      o.process_mode = true;
    } else if (a == "--listen-unix") {
      o.listen_unix = value();
    } else if (a == "--listen-fd") {
      o.listen_fd = parse_int(value(), "--listen-fd");
    } else if (a == "--fd") {
      o.conn_fd = parse_int(value(), "--fd");
    } else if (a == "--root") {
      o.root = value();
    } else if (a == "--ready-fd") {
      o.ready_fd = parse_int(value(), "--ready-fd");
    } else if (a == "--once") {
      o.once = true;
    } else if (a == "--listen-vsock") {
      o.vsock_port = static_cast<std::uint32_t>(parse_int(value(), "--listen-vsock"));
    } else if (a == "--debug") {
      o.debug = true;
    } else {
      usage_error("unknown argument: " + a);
    }
  }
  if (o.root.empty() || o.root.front() != '/') usage_error("--root must be an absolute path");
  while (o.root.size() > 1 && o.root.back() == '/') o.root.pop_back();
  return o;
}

// True if uid 1000 exists in this user namespace (so setuid(1000) can work).
bool sandbox_uid_mapped() {
  const std::string map = agent::read_text_file("/proc/self/uid_map");
  unsigned long inside, outside, count;
  const char* p = map.c_str();
  int consumed = 0;
  while (std::sscanf(p, "%lu %lu %lu%n", &inside, &outside, &count, &consumed) == 3) {
    if (agent::kSandboxUid >= inside && agent::kSandboxUid - inside < count) return true;
    p += consumed;
  }
  return false;
}

[[noreturn]] void finish(agent::AgentContext& ctx, int code) {
  if (ctx.pid1) agent::power_off();
  std::fflush(nullptr);
  ::_exit(code);
}

void serve_connection(agent::AgentContext& ctx, int fd) {
  agent::Connection conn(ctx, fd);
  if (conn.serve()) finish(ctx, 0);
}

[[noreturn]] void accept_loop(agent::AgentContext& ctx, int listen_fd, bool once) {
  std::atomic<int> live{0};
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      VB_LOG_ERROR("accept failed: %s", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (once) {
      serve_connection(ctx, fd);
      finish(ctx, 0);
    }
    if (live.load() >= 32) {
      VB_LOG_WARN("refusing connection: 32 connections open");
      ::close(fd);
      continue;
    }
    ++live;
    std::thread([&ctx, &live, fd] {
      serve_connection(ctx, fd);
      --live;
    }).detach();
  }
}

bool has_arg(int argc, char** argv, std::string_view wanted) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == wanted) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // As a VM's init, argv holds the kernel command-line words the kernel did
  // not recognise (e.g. `nokaslr` on a kernel built without KASLR). They are
  // not ours to reject: exiting here would panic the guest. PID 1 inside a
  // pid namespace (the process backend) says --process-mode and is parsed.
  const bool vm_init = ::getpid() == 1 && !has_arg(argc, argv, "--process-mode");
  const Options opt = vm_init ? Options{} : parse_args(argc, argv);
  auto* ctx = new agent::AgentContext();  // lives until exit; threads reference it
  ctx->pid1 = vm_init;
  ctx->process_mode = !vm_init;
  if (!vm_init && !opt.process_mode)
    usage_error("not PID 1: pass --process-mode to run as a local process");

  agent::Reaper::block_child_signals();
  ::signal(SIGPIPE, SIG_IGN);

  std::string cmdline;
  if (ctx->pid1) {
    agent::init_system();  // also opens /dev/kmsg for logging
    cmdline = agent::read_text_file("/proc/cmdline");
    agent::set_clock_from_cmdline(cmdline);
  } else {
    agent::log_init(agent::LogSink::Stderr, opt.debug);
    if (const char* env = std::getenv(pr::kProcessCmdlineEnv.data())) cmdline = env;
    ::unsetenv(pr::kProcessCmdlineEnv.data());
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  utsname un{};
  ::uname(&un);
  ctx->kernel_release = un.release;

  if (ctx->pid1) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto report =
        agent::load_modules_from(std::string("/lib/modules/") + un.release, cmdline);
    const long long ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    VB_LOG_INFO("modules: %zu loaded, %zu already present, %zu failed in %lld ms", report.loaded,
                report.already, report.failed.size(), ms);
    for (const auto& f : report.failed) VB_LOG_WARN("module %s", f.c_str());
    const agent::NetworkSetup network = agent::configure_network();
    if (network.ok) {
      VB_LOG_INFO("%s", network.summary.c_str());
    } else {
      VB_LOG_WARN("%s", network.summary.c_str());
    }
    // The root switch comes first so that shares and disks are mounted
    // inside the image's root.
    const agent::RootRequest root = agent::root_from_cmdline(cmdline);
    if (!root.error.empty()) {
      ctx->mount_errors.push_back(root.error);
    } else if (root.serial) {
      if (std::string error = agent::switch_to_disk_root(*root.serial); !error.empty()) {
        VB_LOG_ERROR("%s", error.c_str());
        ctx->mount_errors.push_back(std::move(error));
      }
    }
    // Shares are in place before the first connection, so no command sees
    // an empty mount point.
    auto shares = agent::shares_from_cmdline(cmdline);
    ctx->mount_errors = agent::mount_shares(shares.shares);
    ctx->mount_errors.insert(ctx->mount_errors.begin(), shares.errors.begin(), shares.errors.end());
    auto disks = agent::disks_from_cmdline(cmdline);
    auto disk_errors = agent::mount_disks(disks.shares);
    ctx->mount_errors.insert(ctx->mount_errors.end(), disks.errors.begin(), disks.errors.end());
    ctx->mount_errors.insert(ctx->mount_errors.end(), disk_errors.begin(), disk_errors.end());
  }

  if (auto hex = pr::cmdline_value(cmdline, pr::kCmdlineSecretKey)) {
    ctx->secret = pr::parse_secret_hex(*hex);
    if (!ctx->secret) VB_LOG_ERROR("voidbox.secret is not 64 hex digits; refusing all hosts");
  } else {
    VB_LOG_ERROR("no voidbox.secret given; every connection will be refused");
  }

  if (ctx->pid1 || (::geteuid() == 0 && sandbox_uid_mapped())) {
    ctx->identity = {true, agent::kSandboxUid, agent::kSandboxGid};
  }
  ctx->host_base = opt.root;
  if (auto r = ctx->roots.init(opt.root, {"/workspace", "/home", "/tmp"}, ctx->process_mode); !r)
    VB_LOG_ERROR("%s", r.error().c_str());
  if (ctx->process_mode) {
    const std::string home = ctx->host_path("/home/sandbox");
    ::mkdir(home.c_str(), 0755);
    if (ctx->identity.switch_user) {
      (void)::chown(home.c_str(), agent::kSandboxUid, agent::kSandboxGid);
      (void)::chown(ctx->host_path("/workspace").c_str(), agent::kSandboxUid, agent::kSandboxGid);
    }
  }
  ctx->files.emplace(ctx->roots, agent::Ownership{ctx->identity.switch_user, ctx->identity.uid,
                                                  ctx->identity.gid});
  ctx->reaper.start();

  if (opt.conn_fd >= 0) {
    serve_connection(*ctx, opt.conn_fd);
    finish(*ctx, 0);
  }
  int listen_fd = opt.listen_fd;
  if (listen_fd < 0 && !opt.listen_unix.empty()) {
    auto fd = agent::listen_unix(opt.listen_unix);
    if (!fd) {
      VB_LOG_ERROR("%s", fd.error().c_str());
      finish(*ctx, 1);
    }
    listen_fd = *fd;
  }
  if (listen_fd < 0) {
    auto fd = agent::listen_vsock(opt.vsock_port);
    if (!fd) {
      VB_LOG_ERROR("cannot listen on vsock port %u: %s", opt.vsock_port, fd.error().c_str());
      if (ctx->pid1)
        for (;;) ::pause();  // PID 1 must not exit
      finish(*ctx, 1);
    }
    listen_fd = *fd;
  }
  if (opt.ready_fd >= 0) {
    [[maybe_unused]] ssize_t n = ::write(opt.ready_fd, "ready\n", 6);
    ::close(opt.ready_fd);
  }
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  VB_LOG_INFO("agent %s ready %ld ms after kernel start (%s, exec uid %u)", agent::kAgentVersion,
              static_cast<long>(boot.tv_sec * 1000 + boot.tv_nsec / 1000000),
              ctx->pid1 ? "pid 1" : "process mode",
              ctx->identity.switch_user ? ctx->identity.uid : ::getuid());
  accept_loop(*ctx, listen_fd, opt.once);
}
