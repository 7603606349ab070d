// `voidbox exec [options] -- PROGRAM [ARGS...]`: one command in a fresh
// sandbox, output streamed live, stdin forwarded, the command's exit status
// returned.
// g++ 12 reports a false -Wnull-dereference inside Boost.Program_options'
// typed_value<std::string>::notify once inlined here.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <cerrno>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/network_flags.hpp"
#include "cli/verb.hpp"
#include "voidbox/runtime.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;

// Exit statuses of `voidbox exec` itself (the command's own status otherwise).
constexpr int kExitTimedOut = 124;       // --timeout passed; the process group was killed
constexpr int kExitRuntimeFailed = 125;  // no sandbox: backend, boot or connection failure
constexpr int kExitCannotRun = 126;      // not allowed / not executable
constexpr int kExitNotFound = 127;       // no such program

constexpr const char* kUsage =
    "usage: voidbox exec [--backend auto|kvm|process] [--memory MB] [--vcpus N]\n"
    "                    [--env K=V]... [--workdir DIR] [--timeout S]\n"
    "                    [--network] [--publish [ADDR:]HOST:GUEST[/udp]]... -- PROGRAM "
    "[ARGS...]\n\n"
    "Runs PROGRAM in a fresh sandbox and removes the sandbox afterwards. Output is\n"
    "streamed as it is produced; stdin is forwarded when it is not a terminal.\n"
    "The guest has no network unless --network or --publish is given; then it has\n"
    "eth0 10.0.2.15, and 10.0.2.2:PORT reaches this host's 127.0.0.1:PORT. Published\n"
    "ports are printed on stderr (with --output json as a JSON line).\n\n"
    "Backends:\n"
    "  auto     a KVM micro-VM when this host can boot one (backend plugin, /dev/kvm,\n"
    "           guest kernel and initramfs found), else 'process' with a warning\n"
    "  kvm      a KVM micro-VM, or fail with the reason; never falls back\n"
    "  process  NO VM: the guest agent runs as a local process in Linux namespaces,\n"
    "           for development and hosts without KVM. NOT a security boundary.\n\n"
    "Exit status: the command's status; 128+N if it was killed by signal N;\n"
    "124 when --timeout passed (the command's process group is killed);\n"
    "125 when no sandbox could be made; 126 when the command may not run;\n"
    "127 when it does not exist; 2 on bad usage.\n";

void write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // reader went away; keep draining the guest
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

// Splits "[options] [--] PROGRAM ARGS": every option here takes a value,
// so the first bare word not consumed as a value starts the command.
std::pair<std::vector<std::string>, std::vector<std::string>> split_command(
    const std::vector<std::string>& args) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      return {{args.begin(), args.begin() + static_cast<long>(i)},
              {args.begin() + static_cast<long>(i) + 1, args.end()}};
    }
    if (!a.starts_with("-")) break;
    if (a == "--help" || a == "-h" || a.find('=') != std::string::npos) continue;
    ++i;  // the option's value
  }
  i = std::min(i, args.size());
  return {{args.begin(), args.begin() + static_cast<long>(i)},
          {args.begin() + static_cast<long>(i), args.end()}};
}

// Signals reach whichever thread the kernel picks; the handler only writes
// the signal number to a pipe that the pump polls.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_terminate_signal(int sig) {
  int saved = errno;
  auto byte = static_cast<unsigned char>(sig);
  (void)!::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

// Forwards host stdin and termination signals to the guest command until
// told to stop.
class Pump {
 public:
  Pump(ExecSession& session, bool forward_stdin)
      : session_(session), forward_stdin_(forward_stdin) {
    if (g_signal_pipe[0] < 0 && ::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      g_signal_pipe[0] = g_signal_pipe[1] = -1;
    }
    if (g_signal_pipe[0] >= 0) {
      struct sigaction sa {};
      sa.sa_handler = on_terminate_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, &old_[sig]);
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { loop(); });
  }
  ~Pump() {
    std::uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
    if (g_signal_pipe[0] >= 0) {
      for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &old_[sig], nullptr);
    }
  }

 private:
  void loop() {
    bool stdin_open = forward_stdin_;
    int interrupts = 0;
    std::vector<std::uint8_t> buf(64 * 1024);
    for (;;) {
      pollfd fds[3] = {{stop_fd_, POLLIN, 0},
                       {g_signal_pipe[0], POLLIN, 0},
                       {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) {
        unsigned char sig = 0;
        while (::read(g_signal_pipe[0], &sig, 1) == 1) {
          // The first signal is passed on; a second Ctrl-C kills.
          (void)session_.kill(++interrupts > 1 ? SIGKILL : sig);
        }
      }
      if (stdin_open && fds[2].revents != 0) {
        ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n > 0 && session_.write_stdin({buf.data(), static_cast<std::size_t>(n)})) continue;
        (void)session_.close_stdin();
        stdin_open = false;
      }
    }
  }

  ExecSession& session_;
  bool forward_stdin_;
  struct sigaction old_[NSIG] {};
  int stop_fd_ = -1;
  std::thread thread_;
};

int exit_status_for(const Error& error) {
  if (error.kind != Error::Kind::guest || !error.guest_code) {
    return kExitRuntimeFailed;
  }
  switch (*error.guest_code) {
    case protocol::ErrorCode::NotFound:
      return kExitNotFound;
    case protocol::ErrorCode::NotAllowed:
    case protocol::ErrorCode::PermissionDenied:
      return kExitCannotRun;
    default:
      return kExitRuntimeFailed;
  }
}

}  // namespace

int run_exec(VerbContext& ctx) {
  auto [option_args, command] = split_command(ctx.args);
  SandboxConfig config;
  std::vector<std::string> env;
  std::string workdir;
  std::uint64_t timeout_s = 0;
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")(
      "backend", po::value<std::string>()->default_value("auto"), "auto, kvm or process")(
      "memory", po::value(&config.memory_mb)->default_value(1024), "guest memory in MiB")(
      "vcpus", po::value(&config.vcpus)->default_value(1), "guest CPUs")(
      "env", po::value<std::vector<std::string>>()->composing(),
      "K=V for the command (repeatable)")("workdir", po::value<std::string>(),
                                          "working directory in the guest (default /workspace)")(
      "timeout", po::value(&timeout_s), "seconds before the command is killed (exit 124)")(
      "kernel", po::value<std::string>(), "guest kernel (VM backends)")(
      "initramfs", po::value<std::string>(), "guest initramfs (VM backends)");
  add_network_options(options);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(option_args).options(options).run(), vm);
    if (vm.count("help")) {
      ctx.out << kUsage << "\n" << options;
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    ctx.err << "voidbox exec: " << e.what() << "\n" << kUsage;
    return kExitUsage;
  }
  // Read back rather than bound: g++ 12 warns on bound std::string values.
  if (vm.count("env")) env = vm["env"].as<std::vector<std::string>>();
  if (vm.count("workdir")) workdir = vm["workdir"].as<std::string>();
  if (command.empty()) {
    ctx.err << "voidbox exec: no PROGRAM given\n" << kUsage;
    return kExitUsage;
  }
  if (!apply_network_options(vm, config.network, ctx.err)) return kExitUsage;
  ExecRequest request;
  request.program = command.front();
  request.args.assign(command.begin() + 1, command.end());
  request.cwd = workdir;
  request.timeout = std::chrono::seconds(timeout_s);
  for (const auto& kv : env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      ctx.err << "voidbox exec: --env wants K=V, not '" << kv << "'\n";
      return kExitUsage;
    }
    request.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  RuntimeOptions runtime_options;
  runtime_options.backend = vm["backend"].as<std::string>();
  if (vm.count("kernel")) runtime_options.kernel = vm["kernel"].as<std::string>();
  if (vm.count("initramfs")) runtime_options.initramfs = vm["initramfs"].as<std::string>();
  config.name = "exec";

  Runtime runtime(std::move(runtime_options));
  auto sandbox = runtime.create_sandbox(config, [&](const std::string& warning) {
    ctx.err << "voidbox: WARNING: " << warning << "\n" << std::flush;
  });
  if (!sandbox) {
    ctx.err << "voidbox exec: " << sandbox.error().message << "\n";
    return kExitRuntimeFailed;
  }
  if (const auto& ports = (*sandbox)->info().published_ports; !ports.empty()) {
    if (ctx.global.output == OutputFormat::json) {
      ctx.err << boost::json::serialize(boost::json::object{{"event", "ports_published"},
                                                            {"ports", published_ports_json(ports)}})
              << "\n"
              << std::flush;
    } else {
      print_published_ports(ctx.err, ports);
    }
  }
  const bool forward_stdin = ::isatty(STDIN_FILENO) == 0;
  request.stdin_open = forward_stdin;
  ctx.out.flush();
  auto session = (*sandbox)->start_exec(
      request, {[](std::span<const std::uint8_t> b) { write_all(STDOUT_FILENO, b); },
                [](std::span<const std::uint8_t> b) { write_all(STDERR_FILENO, b); }});
  if (!session) {
    ctx.err << "voidbox exec: " << session.error().message << "\n";
    return exit_status_for(session.error());
  }
  Result<ExecResult> result;
  {
    Pump pump(**session, forward_stdin);
    result = (*session)->wait();
  }
  if (!result) {
    ctx.err << "voidbox exec: " << request.program << ": " << result.error().message << "\n";
    return exit_status_for(result.error());
  }
  if (result->timed_out) {
    ctx.err << "voidbox exec: " << request.program << " timed out after " << timeout_s
            << " s and was killed\n";
    return kExitTimedOut;
  }
  if (!result->error.empty()) {
    ctx.err << "voidbox exec: " << request.program << ": " << result->error << "\n";
    return result->exit_code >= 0 ? result->exit_code : kExitCannotRun;
  }
  return result->exit_code;
}

}  // namespace voidbox::cli
