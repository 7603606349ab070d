// The VM config JSON (sdk/docs/vm-config.md) as the KVM backend reads it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace voidbox::kvm {

struct DeviceConfig {
  std::string type;
  std::string config_json;  // the device's own config, serialised
};

// How virtio queue notifies and device interrupts travel. kSync: every
// notify is an MMIO exit served on the vCPU thread, interrupts are
// KVM_IRQ_LINE calls (the path for hosts without ioeventfd/irqfd, and the
// baseline of `voidbox-bench devices`). kEvent: KVM ioeventfds wake a thread
// per device and resampling irqfds carry interrupts; the VM fails to start if
// the host lacks them. kAuto: kEvent where the host has it, else kSync.
// kIoeventfd: kEvent's notifies with kSync's interrupts (a diagnostic that
// splits the two halves' costs).
enum class DevicePath { kAuto, kSync, kEvent, kIoeventfd };

// A virtio-net device (plugin type "virtio-net") joined to a transport
// plugin (voidbox/abi/transport.h). Each config is the plugin's own JSON.
struct NetworkConfig {
  bool enabled = false;
  std::string transport = "slirp";
  std::string transport_config_json = "{}";
  std::string device_config_json = "{}";
};

struct VmConfig {
  std::string name = "vm";
  std::string kernel;
  std::string initramfs;
  std::string cmdline;
  std::vector<std::string> guest_args;
  std::uint64_t memory_mb = 512;
  std::uint32_t vcpus = 1;
  std::string state_dir;
  std::uint32_t vsock_cid = 3;
  std::string serial_log;
  NetworkConfig network;  // JSON: false, true, or {transport, transport_config, device_config}
  std::vector<DeviceConfig> devices;
  DevicePath device_path = DevicePath::kAuto;  // "auto" | "sync" | "event" | "ioeventfd"
  // Non-empty: at the end of the run, after the vCPUs stopped, guest RAM is
  // written here (0600, sparse: all-zero pages are holes), low RAM then high
  // RAM in guest-physical order. For audits such as "no secret in the guest".
  std::string memory_dump;
};

Result<VmConfig> parse_vm_config(std::string_view json);
Result<VmConfig> load_vm_config(const std::string& path);

// The backend's own command line, then `cmdline`, then the guest_args words.
std::string kernel_cmdline(const VmConfig& config);

// Where voidbox-vmm puts things inside state_dir.
inline std::string vsock_socket_path(const VmConfig& c) {
  return c.state_dir + "/vsock.sock";
}
inline std::string exit_file_path(const std::string& state_dir) {
  return state_dir + "/exit.json";
}
inline std::string stats_file_path(const std::string& state_dir) {
  return state_dir + "/vmm-stats.json";
}

}  // namespace voidbox::kvm
