#include "net_peers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

extern char** environ;

namespace voidbox::bench {
namespace {

using Clock = std::chrono::steady_clock;

// voidbox-vmm's own command line (plugins/backend-kvm/src/vmm/vm_config.cpp),
// given verbatim to QEMU so every guest boots the same way.
constexpr const char* kBaseCmdline =
    "console=ttyS0 quiet reboot=k panic=-1 nokaslr pci=off io_delay=none "
    "i8042.noaux i8042.nokbd i8042.nopnp i8042.dumbkbd initcall_blacklist=cmos_init,i8042_init";
// A console line longer than this is not one of the guest client's.
constexpr std::size_t kMaxLine = 4096;

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

double value_of(std::string_view line, std::string_view key) {
  const auto at = line.find(std::string(key) + "=");
  if (at == std::string_view::npos) return -1;
  const char* begin = line.data() + at + key.size() + 1;
  double v = -1;
  const auto [end, ec] = std::from_chars(begin, line.data() + line.size(), v);
  return ec == std::errc{} && end != begin ? v : -1;
}

// One console line: a result, an error, or the end. True at the end.
bool take_line(std::string_view line, NetRun& run) {
  if (line.starts_with("VBNET-DONE")) return true;
  if (line.starts_with("VBNET-ERROR") || line.starts_with("VBNET-INSMOD-FAILED")) {
    if (run.error.empty()) run.error = std::string(line);
  } else if (line.starts_with("VBNET ")) {
    if (line.find("tx_mib_s=") != std::string_view::npos) run.tx_mib_s = value_of(line, "tx_mib_s");
    if (line.find("rx_mib_s=") != std::string_view::npos) run.rx_mib_s = value_of(line, "rx_mib_s");
    if (line.find("crr_p50_us=") != std::string_view::npos) {
      run.crr_p50_us = value_of(line, "crr_p50_us");
      run.crr_p99_us = value_of(line, "crr_p99_us");
      run.crr_mean_us = value_of(line, "crr_mean_us");
    }
  }
  return false;
}

std::string tail_of(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) {
    if (l.find("syslog") == std::string::npos && !l.empty()) all.push_back(l);
  }
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += (out.empty() ? "" : " | ") + all[i];
  }
  return out;
}

// Runs the VMM from spawn to the guest's VBNET-DONE (then lets it power
// off, briefly), reading the console from the FIFO opened as `fifo` and
// keeping a copy in `console_log`.
NetRun run_guest(const std::vector<std::string>& argv, int fifo, const std::string& log,
                 const std::string& console_log, int timeout_s) {
  NetRun run;
  std::ofstream console(console_log, std::ios::binary | std::ios::trunc);
  const pid_t pid = spawn(argv, log);
  if (pid < 0) {
    run.error = "cannot start " + argv[0];
    ::close(fifo);
    return run;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  std::string partial;
  bool done = false, exited = false;
  while (!done && !exited && Clock::now() < deadline) {
    pollfd p{fifo, POLLIN, 0};
    ::poll(&p, 1, 100);
    char buf[4096];
    const ssize_t n = ::read(fifo, buf, sizeof buf);
    if (n > 0) {
      console.write(buf, n);
      partial.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; !done && (nl = partial.find('\n')) != std::string::npos;) {
        std::string_view line(partial.data(), nl);
        if (line.ends_with('\r')) line.remove_suffix(1);
        done = take_line(line, run);
        partial.erase(0, nl + 1);
      }
      if (partial.size() > kMaxLine) partial.clear();
    }
    int st = 0;
    exited = n <= 0 && ::waitpid(pid, &st, WNOHANG) == pid;
  }
  if (!done && run.error.empty()) {
    console.flush();
    run.error = exited ? "the VMM exited before the guest finished: " + tail_of(log, 3)
                       : "no VBNET-DONE within " + std::to_string(timeout_s) +
                             " s; console: " + tail_of(console_log, 2);
  }
  // Give the guest's power-off a moment, then stop the VMM either way.
  for (int i = 0; !exited && i < 30; ++i) {
    pollfd p{fifo, POLLIN, 0};
    ::poll(&p, 1, 100);
    char buf[4096];
    (void)!::read(fifo, buf, sizeof buf);
    int st = 0;
    exited = ::waitpid(pid, &st, WNOHANG) == pid;
  }
  if (!exited) kill_and_reap(pid);
  ::close(fifo);
  return run;
}

int make_fifo(const std::string& path) {
  ::unlink(path.c_str());
  if (::mkfifo(path.c_str(), 0600) != 0) return -1;
  return ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

}  // namespace

NetRun run_voidbox_vmm(const GuestSetup& g, const std::string& vmm) {
  const std::string state = g.work_dir + "/voidbox-vmm";
  std::filesystem::remove_all(state);
  std::filesystem::create_directories(state);
  const std::string fifo_path = state + "/console.fifo";
  const int fifo = make_fifo(fifo_path);
  if (fifo < 0) return NetRun{.error = "cannot make " + fifo_path};
  boost::json::object cfg{
      {"kernel", g.kernel},  {"initramfs", g.initramfs},   {"memory_mb", g.memory_mb},
      {"vcpus", g.vcpus},    {"state_dir", state},         {"serial_log", fifo_path},
      {"name", "bench-net"}, {"cmdline", g.guest_cmdline}, {"network", {{"transport", "slirp"}}}};
  const std::string cfg_path = state + "/vm.json";
  std::ofstream(cfg_path) << boost::json::serialize(cfg);
  NetRun run =
      run_guest({vmm, cfg_path}, fifo, state + "/vmm.log", state + "/console.log", g.timeout_s);
  if (!run.error.empty()) run.error += " (log: " + state + "/vmm.log)";
  return run;
}

NetRun run_qemu(const GuestSetup& g, const std::string& qemu, const std::string& label,
                const std::string& netdev) {
  const std::string fifo_path = g.work_dir + "/" + label + "-console.fifo";
  const int fifo = make_fifo(fifo_path);
  if (fifo < 0) return NetRun{.error = "cannot make " + fifo_path};
  const std::string log = g.work_dir + "/" + label + ".log";
  NetRun run = run_guest({qemu,
                          "-M",
                          "microvm,acpi=on",
                          "-enable-kvm",
                          "-cpu",
                          "host",
                          "-m",
                          std::to_string(g.memory_mb),
                          "-smp",
                          std::to_string(g.vcpus),
                          "-nodefaults",
                          "-no-user-config",
                          "-nographic",
                          "-display",
                          "none",
                          "-serial",
                          "file:" + fifo_path,
                          "-kernel",
                          g.kernel,
                          "-initrd",
                          g.initramfs,
                          "-append",
                          std::string(kBaseCmdline) + " " + g.guest_cmdline,
                          "-netdev",
                          netdev,
                          "-device",
                          "virtio-net-device,netdev=n0"},
                         fifo, log, g.work_dir + "/" + label + "-console.log", g.timeout_s);
  if (!run.error.empty()) run.error += " (log: " + log + ")";
  return run;
}

std::expected<Passt, std::string> Passt::start(const std::string& passt, const std::string& dir) {
  const std::string sock = dir + "/passt.sock", log = dir + "/passt.log";
  std::filesystem::remove(sock);
  // The guest's addresses are given, not taken from the host's default
  // route, and so is passt's own MAC (the template interface may be a
  // loopback, which has none). --one-off: serve one VMM, then exit.
  std::vector<std::string> argv{
      passt,       "--foreground", "--stderr",          "--one-off", "-4",
      "--address", "10.0.2.15",    "--netmask",         "24",        "--gateway",
      "10.0.2.2",  "--mac-addr",   "9a:55:9a:55:9a:55", "--socket",  sock};
  // Started as root, passt switches to "nobody", which cannot reach its
  // socket in the private work dir, and exits at once with status 0.
  if (::geteuid() == 0) argv.insert(argv.end(), {"--runas", "0"});
  const pid_t pid = spawn(argv, log);
  if (pid < 0) return std::unexpected("cannot run " + passt + " (Debian package passt)");
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (std::filesystem::exists(sock)) return Passt(pid, sock);
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      std::string why = tail_of(log, 4);
      // passt sandboxes itself in a user namespace, which the kernel
      // refuses to a process in a chroot.
      if (why.find("user namespace") != std::string::npos) {
        why +=
            " (new user namespaces are refused inside a chroot, such as the nested "
            "harness's L1)";
      }
      return std::unexpected("passt exited (wait status " + std::to_string(st) + "): " + why);
    }
    ::usleep(20000);
  }
  kill_and_reap(pid);
  return std::unexpected("passt made no socket within 10 s: " + tail_of(log, 4));
}

Passt::~Passt() {
  if (pid_ > 0) kill_and_reap(pid_);
}

}  // namespace voidbox::bench
