// The VMMs `voidbox-bench net` compares, each booting the same kernel,
// initramfs, memory, vCPUs and command line with one NIC on a user-mode
// network (guest 10.0.2.15, gateway 10.0.2.2 = the host's loopback):
// voidbox-vmm with the slirp transport, QEMU microvm with `-netdev user`
// (libslirp too), and QEMU with passt behind `-netdev stream`.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <vector>

namespace voidbox::bench {

struct GuestSetup {
  std::string kernel, initramfs, work_dir;
  std::string guest_cmdline;  // the bench's words for the guest's /init
  int memory_mb = 512, vcpus = 1, timeout_s = 300;
};

// What one boot's guest printed (tests/vm/net-bench/net-bench-init.sh); a
// figure the guest did not print stays negative.
struct NetRun {
  double tx_mib_s = -1, rx_mib_s = -1;
  double crr_p50_us = -1, crr_p99_us = -1, crr_mean_us = -1;
  std::string error;  // why the run stopped short, empty if it did not
};

NetRun run_voidbox_vmm(const GuestSetup& g, const std::string& vmm);
// `netdev` is QEMU's -netdev value; the NIC is always a virtio-net-device.
NetRun run_qemu(const GuestSetup& g, const std::string& qemu, const std::string& label,
                const std::string& netdev);

// passt in its socket mode, for QEMU's `-netdev stream`; killed on
// destruction.
class Passt {
 public:
  // Starts passt and waits for its socket; the error is passt's own reason.
  static std::expected<Passt, std::string> start(const std::string& passt, const std::string& dir);
  Passt(Passt&& other) noexcept : pid_(other.pid_), socket_(std::move(other.socket_)) {
    other.pid_ = -1;
  }
  Passt& operator=(Passt&&) = delete;
  ~Passt();
  const std::string& socket_path() const { return socket_; }

 private:
  Passt(pid_t pid, std::string socket) : pid_(pid), socket_(std::move(socket)) {}
  pid_t pid_ = -1;
  std::string socket_;
};

}  // namespace voidbox::bench
