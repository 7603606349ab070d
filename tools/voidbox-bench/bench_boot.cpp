// voidbox-bench boot: boot-to-guest-init time of voidbox-vmm against QEMU's
// microvm booting the same kernel, initramfs, memory, vCPUs and command line,
// plus voidbox-vmm's own overhead (resident memory outside guest RAM, CPU time
// to the first KVM_RUN).
//
// Endpoint, the same for both VMMs: the guest's /init prints VBBENCH-READY on
// the serial console (tests/vm/kvm/bench-init.sh); the console goes to a FIFO
// this program reads, and the time from spawning the VMM to that line is the
// boot time. The VMM is then killed.
//
// On a PVM host (stock kernels cannot boot) only the host-side figures are
// measured: voidbox-vmm still creates the VM and enters KVM_RUN.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "suite.hpp"
#include "targets.hpp"
#include "voidbox/plugin/registry.hpp"

extern char** environ;

namespace voidbox::bench {
namespace {

using Clock = std::chrono::steady_clock;

// voidbox-vmm's own command line (plugins/backend-kvm/src/vmm/vm_config.cpp),
// given verbatim to QEMU so both guests boot the same way.
constexpr const char* kBaseCmdline =
    "console=ttyS0 quiet reboot=k panic=-1 nokaslr pci=off io_delay=none "
    "i8042.noaux i8042.nokbd i8042.nopnp i8042.dumbkbd initcall_blacklist=cmos_init,i8042_init";

struct Options {
  std::string kernel, initramfs, vmm, qemu = "qemu-system-x86_64";
  std::string vmlinux;  // the same kernel uncompressed (ELF); default: "vmlinux" beside it
  int iters = 5, memory_mb = 512, vcpus = 1, timeout_s = 300;
  bool with_qemu = true;
};

struct Run {
  double boot_ms = -1;           // spawn -> console line
  double vmm_ready_ms = -1;      // voidbox-vmm's own boot-port figure
  double cpu_ms_first_run = -1;  // voidbox-vmm: CPU ms to first KVM_RUN
  double rss_kib = -1;           // resident outside guest RAM
  double pss_kib = -1;
};

std::string dir_of(const std::string& p) {
  const auto s = p.rfind('/');
  return s == std::string::npos ? "." : p.substr(0, s);
}

std::string self_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? dir_of(std::string(buf, static_cast<std::size_t>(n))) : ".";
}

// Whether this host's KVM boots stock kernels, as the KVM backend itself
// diagnoses it (the "kvm" facts of its doctor checks).
bool host_boots_stock_kernels() {
  voidbox::plugin::Registry registry(/*log_failures=*/false);
  registry.load_default();
  auto kvm = registry.backend("kvm");
  if (!kvm) return false;
  auto checks = kvm->diagnose("");
  if (!checks) return false;
  for (const auto& c : *checks) {
    if (c.facts_json.empty()) continue;
    boost::system::error_code ec;
    const auto facts = boost::json::parse(c.facts_json, ec);
    if (ec || !facts.is_object()) continue;
    const auto* host = facts.as_object().if_contains("kvm");
    if (host == nullptr || !host->is_object()) continue;
    const auto* boots = host->as_object().if_contains("boots_stock_kernels");
    return boots != nullptr && boots->is_bool() && boots->as_bool();
  }
  return false;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

// Waits for `marker` on the FIFO; ms since `start`, or nullopt.
std::optional<double> wait_marker(int fifo, const char* marker, Clock::time_point start,
                                  int timeout_s, pid_t pid) {
  std::string seen;
  const auto deadline = start + std::chrono::seconds(timeout_s);
  while (Clock::now() < deadline) {
    pollfd p{fifo, POLLIN, 0};
    ::poll(&p, 1, 100);
    char buf[4096];
    const ssize_t n = ::read(fifo, buf, sizeof buf);
    if (n > 0) {
      seen.append(buf, static_cast<std::size_t>(n));
      if (seen.find(marker) != std::string::npos) {
        return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      }
      if (seen.size() > (1u << 20)) seen.erase(0, seen.size() - 64);
    }
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return std::nullopt;
  }
  return std::nullopt;
}

// Resident and proportional KiB of every mapping except guest RAM: mappings
// starting at one of `guest_starts`, or (when that list is empty) anonymous
// mappings at least `guest_min_kib` large.
void measure_memory(pid_t pid, const std::vector<std::uint64_t>& guest_starts,
                    std::uint64_t guest_min_kib, Run& run) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  bool skip = false;
  double rss = 0, pss = 0;
  while (std::getline(in, line)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      const bool listed =
          std::find(guest_starts.begin(), guest_starts.end(), lo) != guest_starts.end();
      const bool big_anon = guest_starts.empty() && (hi - lo) / 1024 >= guest_min_kib &&
                            line.find('/') == std::string::npos;
      skip = listed || big_anon;
      continue;
    }
    if (skip) continue;
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "Rss: %llu kB", &kib) == 1) rss += static_cast<double>(kib);
    if (std::sscanf(line.c_str(), "Pss: %llu kB", &kib) == 1) pss += static_cast<double>(kib);
  }
  run.rss_kib = rss;
  run.pss_kib = pss;
}

void stop(pid_t pid) {
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

std::optional<Run> run_voidbox(const Options& o, const std::string& dir, bool boot) {
  const std::string state = dir + "/vmm-state";
  std::filesystem::remove_all(state);
  std::filesystem::create_directories(state);
  const std::string fifo_path = state + "/console.fifo";
  ::mkfifo(fifo_path.c_str(), 0600);
  const int fifo = ::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  boost::json::object cfg{{"kernel", o.kernel},       {"initramfs", o.initramfs},
                          {"memory_mb", o.memory_mb}, {"vcpus", o.vcpus},
                          {"state_dir", state},       {"serial_log", fifo_path},
                          {"name", "bench"}};
  const std::string cfg_path = state + "/vm.json";
  std::ofstream(cfg_path) << boost::json::serialize(cfg);
  if (!boot) ::setenv("VOIDBOX_ALLOW_PVM", "1", 1);  // enter KVM_RUN; the guest will not boot
  const auto start = Clock::now();
  const pid_t pid = spawn({o.vmm, cfg_path}, state + "/vmm.log");
  if (pid < 0) return std::nullopt;
  Run run;
  if (boot) {
    auto t = wait_marker(fifo, "VBBENCH-READY", start, o.timeout_s, pid);
    if (!t) {
      std::cerr << "voidbox-vmm did not reach the marker; see " << state << "/vmm.log\n";
      stop(pid);
      ::close(fifo);
      return std::nullopt;
    }
    run.boot_ms = *t;
  }
  // The stats file appears at the first KVM_RUN and again at the boot port.
  std::vector<std::uint64_t> guest;
  for (int i = 0; i < 400; ++i) {
    boost::system::error_code ec;
    auto v = boost::json::parse(read_file(state + "/vmm-stats.json"), ec);
    if (!ec && v.is_object() &&
        (!boot || v.as_object().at("guest_ready_ms").to_number<double>() > 0)) {
      const auto& s = v.as_object();
      run.cpu_ms_first_run = s.at("cpu_ms_to_first_kvm_run").to_number<double>();
      run.vmm_ready_ms = s.at("guest_ready_ms").to_number<double>();
      for (const auto& r : s.at("guest_ram").as_array()) {
        guest.push_back(r.as_object().at("host").to_number<std::uint64_t>());
      }
      break;
    }
    ::usleep(5000);
  }
  if (!boot) ::usleep(200000);  // let the (stuck) guest settle
  measure_memory(pid, guest, 0, run);
  stop(pid);
  ::close(fifo);
  return run;
}

std::optional<Run> run_qemu(const Options& o, const std::string& dir) {
  const std::string fifo_path = dir + "/qemu-console.fifo";
  ::unlink(fifo_path.c_str());
  ::mkfifo(fifo_path.c_str(), 0600);
  const int fifo = ::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  const auto start = Clock::now();
  const pid_t pid = spawn({o.qemu,
                           "-M",
                           "microvm,acpi=on",
                           "-enable-kvm",
                           "-cpu",
                           "host",
                           "-m",
                           std::to_string(o.memory_mb),
                           "-smp",
                           std::to_string(o.vcpus),
                           "-nodefaults",
                           "-no-user-config",
                           "-nographic",
                           "-display",
                           "none",
                           "-serial",
                           "file:" + fifo_path,
                           "-kernel",
                           o.kernel,
                           "-initrd",
                           o.initramfs,
                           "-append",
                           kBaseCmdline},
                          dir + "/qemu.log");
  if (pid < 0) return std::nullopt;
  auto t = wait_marker(fifo, "VBBENCH-READY", start, o.timeout_s, pid);
  Run run;
  if (t) {
    run.boot_ms = *t;
    measure_memory(pid, {}, static_cast<std::uint64_t>(o.memory_mb) * 1024 / 2, run);
  } else {
    std::cerr << "QEMU did not reach the marker; see " << dir << "/qemu.log\n";
  }
  stop(pid);
  ::close(fifo);
  if (!t) return std::nullopt;
  return run;
}

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return x < 0; }), v.end());
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string newest_cached_kernel() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string root =
      std::string(xdg ? xdg : (home ? std::string(home) + "/.cache" : ".")) + "/voidbox/kernels";
  std::string best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    if (std::filesystem::exists(e.path() / "vmlinuz") && e.path().string() > best)
      best = e.path().string();
  }
  return best.empty() ? "" : best + "/vmlinuz";
}

int usage(std::ostream& os, int rc) {
  os << "usage: voidbox-bench boot --initramfs I [--kernel K] [--iters N] [--memory MB]\n"
        "       [--vcpus N] [--vmm PATH] [--qemu PATH] [--no-qemu] [--timeout S]\n"
        "       [--vmlinux V]\n\n"
        "Boots I with K (a bzImage) and with V (the same kernel as an uncompressed ELF\n"
        "vmlinux; default: \"vmlinux\" beside K, if there) on voidbox-vmm and QEMU\n"
        "microvm, N times each, interleaved, and prints every boot and the medians.\n"
        "I must print VBBENCH-READY on the console (tests/vm/kvm/bench-init.sh).\n"
        "K defaults to the newest kernel fetched by scripts/fetch-kernel.sh.\n";
  return rc;
}

// The margins are generous guesses at run-to-run noise, not measurements:
// the ratio compares two VMMs in the same run (in the nested harness, the
// same emulated L1), so it varies less than either time does.
constexpr Target kBootRatio{"boot-ratio-voidbox-vs-qemu", "x", 0.8, 0.25};
constexpr Target kCpuToFirstRun{"vmm-cpu-to-first-kvm-run", "ms", 10, 0.5};
constexpr Target kResident{"vmm-rss-excluding-guest-ram", "KiB", 5120, 0.1};

}  // namespace

int run_boot(std::span<const std::string> args) {
  Options o;
  o.kernel = newest_cached_kernel();
  o.vmm = self_dir() + "/voidbox-vmm";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has = i + 1 < args.size();
    if (a == "--help" || a == "-h") return usage(std::cout, 0);
    if (a == "--no-qemu") {
      o.with_qemu = false;
    } else if (!has) {
      return usage(std::cerr, 2);
    } else if (a == "--kernel") {
      o.kernel = args[++i];
    } else if (a == "--vmlinux") {
      o.vmlinux = args[++i];
    } else if (a == "--initramfs") {
      o.initramfs = args[++i];
    } else if (a == "--vmm") {
      o.vmm = args[++i];
    } else if (a == "--qemu") {
      o.qemu = args[++i];
    } else if (a == "--iters" || a == "--memory" || a == "--vcpus" || a == "--timeout") {
      int v = std::atoi(args[++i].c_str());
      if (v <= 0) return usage(std::cerr, 2);
      (a == "--iters"    ? o.iters
       : a == "--memory" ? o.memory_mb
       : a == "--vcpus"  ? o.vcpus
                         : o.timeout_s) = v;
    } else {
      return usage(std::cerr, 2);
    }
  }
  if (o.kernel.empty() || o.initramfs.empty()) return usage(std::cerr, 2);
  // /tmp rather than $TMPDIR: voidbox-vmm binds its vsock Unix socket in the
  // state dir, which fails on network file systems such as the nested
  // harness's 9p TMPDIR.
  char tmpl[] = "/tmp/voidbox-bench-boot.XXXXXX";
  const char* made = ::mkdtemp(tmpl);
  if (made == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = made;
  ::signal(SIGPIPE, SIG_IGN);

  const bool boot = host_boots_stock_kernels();
  // Each VMM boots every form of the kernel it is given; the headline ratio
  // compares each VMM's fastest form, since a user would pick that one.
  struct Form {
    std::string label, kernel;
    std::vector<double> vb, q;
  };
  std::vector<Form> forms{{"bzImage", o.kernel, {}, {}}};
  if (o.vmlinux.empty() && std::filesystem::exists(dir_of(o.kernel) + "/vmlinux")) {
    o.vmlinux = dir_of(o.kernel) + "/vmlinux";
  }
  if (boot && !o.vmlinux.empty()) forms.push_back({"vmlinux", o.vmlinux, {}, {}});
  std::vector<double> vb_ready, vb_cpu, vb_rss, vb_pss, q_rss;
  int failures = 0;
  TargetReport targets;
  std::printf("boot bench: %d iteration(s), %d MiB, %d vCPU(s), kernel %s%s%s\n", o.iters,
              o.memory_mb, o.vcpus, o.kernel.c_str(), forms.size() > 1 ? " and " : "",
              forms.size() > 1 ? o.vmlinux.c_str() : "");
  if (!boot)
    std::printf("host /dev/kvm is PVM: stock kernels cannot boot here; host-side figures only\n");
  for (int i = 0; i < o.iters; ++i) {
    std::string line = "iteration " + std::to_string(i + 1) + ":";
    auto note = [&line](const std::string& what, double ms) {
      char buf[96];
      std::snprintf(buf, sizeof buf, " %s %.0f ms;", what.c_str(), ms);
      line += ms < 0 ? " " + what + " FAILED;" : std::string(buf);
    };
    for (auto& form : forms) {
      Options one = o;
      one.kernel = form.kernel;
      if (auto r = run_voidbox(one, dir, boot)) {
        form.vb.push_back(r->boot_ms);
        vb_ready.push_back(r->vmm_ready_ms);
        vb_cpu.push_back(r->cpu_ms_first_run);
        vb_rss.push_back(r->rss_kib);
        vb_pss.push_back(r->pss_kib);
        if (boot) note("voidbox-vmm " + form.label, r->boot_ms);
      } else {
        ++failures;
        note("voidbox-vmm " + form.label, -1);
      }
      if (!boot || !o.with_qemu) continue;
      if (auto r = run_qemu(one, dir)) {
        form.q.push_back(r->boot_ms);
        q_rss.push_back(r->rss_kib);
        note("QEMU " + form.label, r->boot_ms);
      } else {
        ++failures;
        note("QEMU " + form.label, -1);
      }
    }
    if (boot) std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);

  if (boot) {
    const Form* best_vb = nullptr;
    const Form* best_q = nullptr;
    for (const auto& form : forms) {
      const double v = median(form.vb), q = median(form.q);
      std::printf("%s boot-to-init (console line), median: voidbox-vmm %.1f ms", form.label.c_str(),
                  v);
      if (o.with_qemu) {
        std::printf(", QEMU microvm %.1f ms", q);
        if (q > 0 && v > 0) std::printf(", ratio %.3f", v / q);
      }
      std::printf("\n");
      if (v > 0 && (!best_vb || v < median(best_vb->vb))) best_vb = &form;
      if (q > 0 && (!best_q || q < median(best_q->q))) best_q = &form;
    }
    std::printf("voidbox-vmm boot-to-init (its boot port), median: %.1f ms\n", median(vb_ready));
    if (o.with_qemu) {
      double ratio = 0;
      if (best_vb && best_q) {
        ratio = median(best_vb->vb) / median(best_q->q);
        std::printf(
            "ratio voidbox/QEMU, each at its fastest form (voidbox-vmm %s, QEMU %s): %.3f\n",
            best_vb->label.c_str(), best_q->label.c_str(), ratio);
      }
      targets.check(kBootRatio, ratio);
      std::printf("QEMU resident excluding guest RAM, median: %.0f KiB\n", median(q_rss));
    }
  }
  std::printf("voidbox-vmm CPU to first KVM_RUN, median: %.2f ms\n", median(vb_cpu));
  std::printf("voidbox-vmm resident excluding guest RAM, median: %.0f KiB RSS, %.0f KiB PSS\n",
              median(vb_rss), median(vb_pss));
  // Emulation (the nested harness's L1 is TCG) stretches CPU time by a
  // large, varying factor, so an absolute CPU figure says nothing there.
  if (const char* inside = std::getenv("VOIDBOX_VMTEST_INSIDE");
      inside != nullptr && std::string_view(inside) == "nested") {
    TargetReport::not_judged(kCpuToFirstRun, median(vb_cpu), "CPU time under emulation");
  } else {
    targets.check(kCpuToFirstRun, median(vb_cpu));
  }
  targets.check(kResident, median(vb_rss));
  if (failures) std::printf("%d run(s) failed\n", failures);
  return failures || targets.failed() ? 1 : 0;
}

}  // namespace voidbox::bench
