// voidbox-bench net: guest networking of voidbox-vmm (virtio-net on the
// slirp transport) against QEMU microvm with `-netdev user` (libslirp as
// well) and QEMU with passt, each booting the same kernel, initramfs,
// memory, vCPUs and command line in this invocation.
//
// The guest (tests/vm/net-bench/net-bench-init.sh) brings eth0 up as
// 10.0.2.15/24 via 10.0.2.2 and runs its client
// (tests/vm/net-bench/net_bench_guest.c) against this program's server on
// 127.0.0.1, which every one of the three maps 10.0.2.2 to. The guest times
// itself and prints one line per figure on the console:
//   guest-to-host MiB/s   --mib MiB streamed, until the server's count is back
//   host-to-guest MiB/s   --mib MiB streamed from the server, until EOF
//   CRR p50/p99 us        --crr rounds of connect, 64-byte request, 64-byte
//                         reply, close
// Targets: voidbox-vmm at least QEMU+libslirp on all three (judged as
// ratios <= 1: QEMU's throughput over ours, our latency over QEMU's); the
// same ratios against passt are printed as the next mark, never judged.
// Inside the nested harness's emulated L1 nothing is judged (see below),
// but a figure that voidbox-vmm or QEMU+libslirp failed to produce fails.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net_peers.hpp"
#include "net_server.hpp"
#include "suite.hpp"
#include "targets.hpp"

namespace voidbox::bench {
namespace {

struct Options {
  std::string kernel, initramfs, vmm, qemu = "qemu-system-x86_64", passt = "passt";
  std::string work_dir = "/tmp";
  int iters = 1, mib = 64, crr = 200, memory_mb = 512, vcpus = 1, timeout_s = 300;
};

enum Peer { kVoidbox, kQemuSlirp, kQemuPasst, kPeers };
constexpr const char* kPeerNames[kPeers] = {"voidbox-vmm+slirp", "QEMU+libslirp", "QEMU+passt"};

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !(x > 0); }), v.end());
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

bool nested() {
  const char* inside = std::getenv("VOIDBOX_VMTEST_INSIDE");
  return inside != nullptr && std::string_view(inside) == "nested";
}

int usage(std::ostream& os, int code) {
  os << "usage: voidbox-bench net --kernel K --initramfs I [--vmm PATH] [--qemu PATH]\n"
        "       [--passt PATH] [--iters N] [--mib N] [--crr N] [--memory MB] [--vcpus N]\n"
        "       [--timeout S] [--work-dir DIR]\n\n"
        "Boots voidbox-vmm (network: slirp transport), QEMU microvm with -netdev user and\n"
        "QEMU with passt on the same guest, N times each, interleaved, and prints\n"
        "guest-to-host and host-to-guest TCP MiB/s (--mib MiB each, default 64) and\n"
        "connect-request-response latency p50/p99 (--crr rounds, default 200), with the\n"
        "ratios to both peers. I is tests/vm/net-bench/net-bench-init.sh with virtio_net\n"
        "and the guest client (tests/vm/net-bench/run-net-bench.sh builds it). Needs a\n"
        "/dev/kvm that boots stock kernels (run it through scripts/vmtest.sh).\n";
  return code;
}

std::optional<Options> parse(std::span<const std::string> args, int& rc) {
  Options o;
  bool bad = false;
  for (std::size_t i = 0; i < args.size() && !bad; ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      rc = usage(std::cout, 0);
      return std::nullopt;
    }
    if (i + 1 >= args.size()) {
      bad = true;
      break;
    }
    const std::string& v = args[++i];
    if (a == "--kernel" || a == "--initramfs" || a == "--vmm" || a == "--qemu" || a == "--passt" ||
        a == "--work-dir") {
      (a == "--kernel"      ? o.kernel
       : a == "--initramfs" ? o.initramfs
       : a == "--vmm"       ? o.vmm
       : a == "--qemu"      ? o.qemu
       : a == "--passt"     ? o.passt
                            : o.work_dir) = v;
      continue;
    }
    const int n = std::atoi(v.c_str());
    int* field = a == "--iters"     ? &o.iters
                 : a == "--mib"     ? &o.mib
                 : a == "--crr"     ? &o.crr
                 : a == "--memory"  ? &o.memory_mb
                 : a == "--vcpus"   ? &o.vcpus
                 : a == "--timeout" ? &o.timeout_s
                                    : nullptr;
    // The guest client takes at most 64 GiB and a million rounds.
    if (field == nullptr || n <= 0 || (field == &o.mib && n > 65536) ||
        (field == &o.crr && n > 1000000)) {
      bad = true;
      break;
    }
    *field = n;
  }
  if (bad || o.kernel.empty() || o.initramfs.empty()) {
    rc = usage(std::cerr, 2);
    return std::nullopt;
  }
  if (o.vmm.empty()) {
    o.vmm =
        (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "voidbox-vmm").string();
  }
  return o;
}

void print_row(const char* what, const char* unit, const double (&v)[kPeers], bool higher_better) {
  std::printf("%-24s", (std::string(what) + " " + unit).c_str());
  for (double x : v) std::printf(" %17.1f", x);
  // Printed as "how many times better ours is": above 1 is ahead.
  for (int p : {kQemuSlirp, kQemuPasst}) {
    const double r = v[kVoidbox] > 0 && v[p] > 0
                         ? (higher_better ? v[kVoidbox] / v[p] : v[p] / v[kVoidbox])
                         : 0.0;
    std::printf(" %12.2fx", r);
  }
  std::printf("\n");
}

}  // namespace

int run_net(std::span<const std::string> args) {
  int rc = 0;
  auto parsed = parse(args, rc);
  if (!parsed) return rc;
  const Options& o = *parsed;
  if (std::filesystem::exists("/sys/module/kvm_pvm")) {
    std::cerr << "voidbox-bench net: this host's /dev/kvm is PVM, which cannot boot stock "
                 "kernels; run it through scripts/vmtest.sh\n";
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::string error;
  auto server = NetServer::start(error);
  if (!server) {
    std::cerr << "voidbox-bench net: " << error << "\n";
    return 1;
  }
  // A directory of its own on a local file system: the VMM binds Unix
  // sockets in it, which fails on the nested harness's 9p TMPDIR.
  std::string dir_template = o.work_dir + "/voidbox-bench-net.XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  GuestSetup g{o.kernel,
               o.initramfs,
               dir_template,
               "vbnet.port=" + std::to_string(server->port()) +
                   " vbnet.mib=" + std::to_string(o.mib) + " vbnet.crr=" + std::to_string(o.crr),
               o.memory_mb,
               o.vcpus,
               o.timeout_s};
  std::printf(
      "net bench: %d iteration(s), %d MiB each way, %d CRR rounds, %d MiB, %d vCPU(s), "
      "kernel %s, server 127.0.0.1:%u\n",
      o.iters, o.mib, o.crr, o.memory_mb, o.vcpus, o.kernel.c_str(), server->port());
  std::fflush(stdout);

  std::vector<NetRun> runs[kPeers];
  std::string passt_reason;
  int failures = 0;
  for (int it = 0; it < o.iters; ++it) {
    for (int p = 0; p < kPeers; ++p) {
      NetRun r;
      if (p == kVoidbox) {
        r = run_voidbox_vmm(g, o.vmm);
      } else if (p == kQemuSlirp) {
        r = run_qemu(g, o.qemu, "qemu-slirp", "user,id=n0");
      } else {
        auto passt = Passt::start(o.passt, g.work_dir);
        if (!passt) {
          passt_reason = passt.error();
          std::printf("run %d %-18s did not start: %s\n", it + 1, kPeerNames[p],
                      passt_reason.c_str());
          continue;
        }
        r = run_qemu(g, o.qemu, "qemu-passt",
                     "stream,id=n0,server=off,addr.type=unix,addr.path=" + passt->socket_path());
      }
      std::printf(
          "run %d %-18s g2h %.1f MiB/s, h2g %.1f MiB/s, CRR p50 %.0f us p99 %.0f us "
          "mean %.0f us%s%s\n",
          it + 1, kPeerNames[p], r.tx_mib_s, r.rx_mib_s, r.crr_p50_us, r.crr_p99_us, r.crr_mean_us,
          r.error.empty() ? "" : "; ", r.error.c_str());
      std::fflush(stdout);
      if (!r.error.empty()) {
        if (p == kQemuPasst) passt_reason = r.error;
        if (p != kQemuPasst) ++failures;
      }
      runs[p].push_back(std::move(r));
    }
  }
  const int protocol_errors = server->protocol_errors();
  server.reset();

  auto med = [&](int p, double NetRun::*field) {
    std::vector<double> v;
    for (const NetRun& r : runs[p]) v.push_back(r.*field);
    return median(v);
  };
  double tx[kPeers], rx[kPeers], p50[kPeers], p99[kPeers];
  for (int p = 0; p < kPeers; ++p) {
    tx[p] = med(p, &NetRun::tx_mib_s);
    rx[p] = med(p, &NetRun::rx_mib_s);
    p50[p] = med(p, &NetRun::crr_p50_us);
    p99[p] = med(p, &NetRun::crr_p99_us);
  }
  std::printf("\nmedians of %d iteration(s); ratio = how many times better voidbox-vmm is\n",
              o.iters);
  std::printf("%-24s %17s %17s %17s %13s %13s\n", "", kPeerNames[0], kPeerNames[1], kPeerNames[2],
              "vs libslirp", "vs passt");
  print_row("guest-to-host", "MiB/s", tx, true);
  print_row("host-to-guest", "MiB/s", rx, true);
  print_row("CRR p50", "us", p50, false);
  print_row("CRR p99", "us", p99, false);

  // Each judged figure is "ours against the peer, <= 1": for throughput the
  // peer's MiB/s over ours (our time per MiB against its), for latency ours
  // over the peer's.
  struct Figure {
    const char* name;
    const double* v;
    bool higher_better;
    double margin;
  };
  // p99 of a few hundred rounds is a handful of samples: a wider margin.
  const Figure figures[] = {{"g2h-time", tx, true, 0.15},
                            {"h2g-time", rx, true, 0.15},
                            {"crr-p50", p50, false, 0.15},
                            {"crr-p99", p99, false, 0.5}};
  TargetReport report;
  for (const Figure& f : figures) {
    for (int p : {kQemuSlirp, kQemuPasst}) {
      const double ours = f.v[kVoidbox], theirs = f.v[p];
      const double ratio =
          ours > 0 && theirs > 0 ? (f.higher_better ? theirs / ours : ours / theirs) : 0.0;
      const std::string name =
          std::string("net-") + f.name + (p == kQemuSlirp ? "-vs-qemu-libslirp" : "-vs-qemu-passt");
      const Target t{name.c_str(), "x", 1.0, f.margin};
      if (p == kQemuPasst) {
        TargetReport::not_judged(
            t, ratio,
            passt_reason.empty() ? "the next mark"
                                 : ("the next mark; passt did not run: " + passt_reason).c_str());
      } else if (ratio > 0 && nested()) {
        // Inside the emulated L1 every guest exit and every copy costs an
        // emulated round trip, and two identical runs differ by more than
        // the margins.
        TargetReport::not_judged(t, ratio, "inside the emulated L1 (nested harness)");
      } else {
        report.check(t, ratio);
      }
    }
  }
  if (protocol_errors > 0)
    std::printf("%d server connection(s) broke the protocol\n", protocol_errors);
  if (failures > 0) {
    std::printf("%d run(s) failed; logs kept in %s\n", failures, g.work_dir.c_str());
  } else {
    std::filesystem::remove_all(g.work_dir);
  }
  return failures > 0 || report.failed() > 0 ? 1 : 0;
}

}  // namespace voidbox::bench
