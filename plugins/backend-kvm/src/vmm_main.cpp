// voidbox-vmm: runs ONE VM from a JSON config file and exits with a status
// saying how it ended (see vm_outcome.hpp). The runtime's KVM backend plugin
// spawns one of these per VM, so a guest that breaks a device reaches only
// this confined process.
//
//   voidbox-vmm CONFIG.json
//
// Files in state_dir: vsock.sock (hybrid vsock), exit.json (how it ended),
// vmm-stats.json (CPU ms to first KVM_RUN, boot-ready time, guest RAM maps,
// the network transport's description: forwards, counters, denials).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "vmm/confine.hpp"
#include "vmm/host_probe.hpp"
#include "vmm/unique_fd.hpp"
#include "vmm/virtio_devices.hpp"
#include "vmm/vm.hpp"
#include "vmm/vm_config.hpp"

namespace {

using namespace voidbox::kvm;

std::int64_t g_start_ns = 0;

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

// Rewrites a small file through an fd opened before confinement.
void rewrite(int fd, const std::string& text) {
  if (fd < 0) return;
  [[maybe_unused]] int r = ::ftruncate(fd, 0);
  [[maybe_unused]] ssize_t n = ::pwrite(fd, text.data(), text.size(), 0);
}

double ms_since_start(std::int64_t ns) {
  return ns == 0 ? -1 : (ns - g_start_ns) / 1e6;
}

std::string stats_json(const Vm& vm, const NetworkLink* network) {
  const BootStats s = vm.stats();
  std::ostringstream o;
  o << "{\"pid\":" << ::getpid() << ",\"first_kvm_run_ms\":" << ms_since_start(s.first_kvm_run_ns)
    << ",\"cpu_ms_to_first_kvm_run\":" << s.cpu_ms_at_first_kvm_run
    << ",\"guest_ready_ms\":" << ms_since_start(s.guest_ready_ns) << ",\"guest_ram\":[";
  bool first = true;
  for (const auto& r : vm.memory().regions()) {
    o << (first ? "" : ",") << "{\"host\":" << reinterpret_cast<std::uintptr_t>(r.host)
      << ",\"size\":" << r.size << "}";
    first = false;
  }
  o << "]";
  if (network != nullptr) o << ",\"network\":" << network->describe();
  o << "}\n";
  return o.str();
}

// Writes every non-zero page of guest RAM at its offset in the dump (the
// zero pages stay holes), with pwrite only: the process is confined by now.
void dump_guest_ram(int fd, const voidbox::virtio::GuestMemory& memory, const std::string& path) {
  constexpr std::uint64_t kPage = 4096;
  static const std::byte kZero[kPage] = {};
  std::uint64_t offset = 0, written = 0, failed = 0;
  for (const auto& r : memory.regions()) {
    // SAFETY: the region is this process's own mapping of guest RAM, still
    // mapped (devices and RAM are torn down after this) and not written by
    // any vCPU, which have all stopped.
    const std::byte* base = r.host;
    for (std::uint64_t at = 0; at + kPage <= r.size; at += kPage) {
      if (std::memcmp(base + at, kZero, kPage) == 0) continue;
      if (::pwrite(fd, base + at, kPage, static_cast<off_t>(offset + at)) == kPage) {
        written += kPage;
      } else {
        ++failed;
      }
    }
    offset += r.size;
  }
  [[maybe_unused]] int rc = ::ftruncate(fd, static_cast<off_t>(offset));
  std::cerr << "voidbox-vmm: memory dump: " << (written >> 20) << " MiB of " << (offset >> 20)
            << " MiB non-zero written to " << path
            << (failed ? " (" + std::to_string(failed) + " pages failed)" : "") << "\n";
}

int finish(int exit_fd, VmEnd end, const std::string& detail) {
  std::ostringstream o;
  o << "{\"reason\":\"" << to_string(end) << "\",\"detail\":\"" << json_escape(detail)
    << "\",\"exit_status\":" << exit_status_for(end) << "}\n";
  rewrite(exit_fd, o.str());
  std::cerr << "voidbox-vmm: VM ended: " << to_string(end) << " (" << detail << ")\n";
  return exit_status_for(end);
}

int config_error(int exit_fd, const std::string& message) {
  std::cerr << "voidbox-vmm: " << message << "\n";
  rewrite(exit_fd, "{\"reason\":\"config-error\",\"detail\":\"" + json_escape(message) +
                       "\",\"exit_status\":2}\n");
  return kExitStatusConfigError;
}

int run(const std::string& config_path) {
  auto config = load_vm_config(config_path);
  if (!config) return config_error(-1, config.error().message);
  UniqueFd exit_fd(::open(exit_file_path(config->state_dir).c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  UniqueFd stats_fd(::open(stats_file_path(config->state_dir).c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!exit_fd.valid()) return config_error(-1, "cannot write in state_dir " + config->state_dir);
  // Opened now: once the process is confined it cannot open files.
  UniqueFd dump_fd;
  if (!config->memory_dump.empty()) {
    dump_fd = UniqueFd(::open(config->memory_dump.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!dump_fd.valid()) {
      return config_error(exit_fd.get(), "cannot create the memory dump " + config->memory_dump +
                                             ": " + std::strerror(errno));
    }
  }
  if (auto r = check_kernel_runs_here(config->kernel); !r) {
    return config_error(exit_fd.get(), r.error().message);
  }

  // SIGTERM/SIGINT/SIGHUP arrive on a signalfd; vCPU threads inherit the mask.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sig_fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  ::signal(SIGPIPE, SIG_IGN);

  VmSpec spec{config->kernel,    config->initramfs, kernel_cmdline(*config),
              config->memory_mb, config->vcpus,     config->serial_log};
  auto vm = Vm::create(spec);
  if (!vm) return finish(exit_fd.get(), VmEnd::kInternalError, vm.error().message);
  auto attached = attach_virtio_devices(**vm, *config);
  if (!attached) return config_error(exit_fd.get(), attached.error().message);
  const NetworkLink* network = attached->network.get();
  if (auto r = (*vm)->boot(); !r)
    return finish(exit_fd.get(), VmEnd::kInternalError, r.error().message);

  const bool file_shares =
      std::any_of(config->devices.begin(), config->devices.end(),
                  [](const auto& d) { return d.type == "virtio-9p" || d.type == "virtiofs"; });
  if (auto r = confine_process(file_shares); !r) {
    std::cerr << "voidbox-vmm: warning: " << r.error().message << "\n";
  }

  BootStats reported{};
  std::int64_t panic_deadline = 0;
  while (true) {
    pollfd fds[2] = {{(*vm)->event_fd(), POLLIN, 0}, {sig_fd.get(), POLLIN, 0}};
    int timeout = -1;
    if (panic_deadline != 0) {
      timeout =
          static_cast<int>(std::max<std::int64_t>(0, (panic_deadline - monotonic_ns()) / 1000000));
    }
    const int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) break;
    (*vm)->drain_events();
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si{};
      [[maybe_unused]] ssize_t r = ::read(sig_fd.get(), &si, sizeof si);
      (*vm)->end({VmEnd::kStopped, "stopped by signal " + std::to_string(si.ssi_signo)});
    }
    const BootStats s = (*vm)->stats();
    if (s.first_kvm_run_ns != reported.first_kvm_run_ns ||
        s.guest_ready_ns != reported.guest_ready_ns) {
      if (s.guest_ready_ns != 0 && reported.guest_ready_ns == 0) {
        std::cerr << "voidbox-vmm: guest init reached " << ms_since_start(s.guest_ready_ns)
                  << " ms after VMM start\n";
      }
      reported = s;
      rewrite(stats_fd.get(), stats_json(**vm, network));
    }
    // A console panic with panic=-1 resets at once; if the guest was told to
    // hang instead, end it after a grace period that lets the trace print.
    if ((*vm)->panic_seen() && panic_deadline == 0) panic_deadline = monotonic_ns() + 2'000'000'000;
    if (panic_deadline != 0 && monotonic_ns() >= panic_deadline) {
      (*vm)->end({VmEnd::kPanic, "kernel panic (console); the guest did not reset"});
    }
    if ((*vm)->outcome()) break;
  }
  const std::int64_t ended_ns = monotonic_ns();
  const VmOutcome outcome =
      (*vm)->outcome().value_or(VmOutcome{VmEnd::kInternalError, "poll failed"});
  std::string stuck;
  if (!(*vm)->stop_vcpus(std::chrono::milliseconds(2000), &stuck)) {
    // A vCPU that ignores kicks cannot be joined; exit_group ends it.
    const int status =
        finish(exit_fd.get(), outcome.end, outcome.detail + "; " + stuck + " did not stop");
    ::_exit(status);
  }
  rewrite(stats_fd.get(), stats_json(**vm, network));
  if (dump_fd.valid()) dump_guest_ram(dump_fd.get(), (*vm)->memory(), config->memory_dump);
  if (network != nullptr) std::cerr << "voidbox-vmm: network: " << network->describe() << "\n";
  const std::int64_t vcpus_done = monotonic_ns();
  attached->network.reset();  // unhooks the NIC, then stops the transport
  vm->reset();                // devices join their threads, then guest RAM is unmapped
  std::cerr << "voidbox-vmm: teardown: vCPUs " << (vcpus_done - ended_ns) / 1000000
            << " ms, devices " << (monotonic_ns() - vcpus_done) / 1000000 << " ms\n";
  return finish(exit_fd.get(), outcome.end, outcome.detail);
}

}  // namespace

int main(int argc, char** argv) {
  g_start_ns = monotonic_ns();
  // One malloc arena: glibc trims per-thread arenas after an openat() of
  // /proc/sys/vm/overcommit_memory, which the seccomp filter kills (seen on
  // the vsock thread during the 64 MiB VM test).
  ::mallopt(M_ARENA_MAX, 1);
  // Small thread stacks (vCPU and device threads need little): with glibc's
  // 8 MiB default, a host whose transparent huge pages are "always" may back
  // a stack with a 2 MiB page on first touch, and the VMM's resident memory
  // jumps by that much.
  {
    pthread_attr_t attr;
    if (::pthread_attr_init(&attr) == 0) {
      ::pthread_attr_setstacksize(&attr, 512 * 1024);
      ::pthread_setattr_default_np(&attr);
      ::pthread_attr_destroy(&attr);
    }
  }
  if (argc != 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fprintf(argc == 2 ? stdout : stderr,
                 "usage: voidbox-vmm CONFIG.json\n\n"
                 "Runs one KVM VM from a VM config (sdk/docs/vm-config.md) and exits with:\n"
                 "  0 power-off, 10 reboot, 11 kernel panic, 12 stopped by signal,\n"
                 "  13 VMM/KVM error, 2 bad config or unsupported host/kernel.\n");
    return argc == 2 ? 0 : 2;
  }
  ::prctl(PR_SET_NAME, "voidbox-vmm");
  return run(argv[1]);
}
