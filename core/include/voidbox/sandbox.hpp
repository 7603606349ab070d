// A sandbox: a VM (or the process backend's stand-in) with a guest agent
// that runs commands, serves files and terminals. Every call returns a
// value; none throws.
//
//   voidbox::plugin::Registry plugins;
//   plugins.load_default();
//   auto box = voidbox::Sandbox::create(config, plugins);
//   if (!box) return fail(box.error().message);
//   auto r = (*box)->exec(request, {print_stdout, print_stderr});
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "voidbox/error.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/protocol/messages.hpp"
#include "voidbox/spec.hpp"

namespace voidbox {

struct ExecRequest {
  std::string program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;                       // empty: the guest's default (/workspace)
  std::chrono::milliseconds timeout{0};  // 0: none; enforced in the guest (process group kill)
  bool stdin_open = false;               // false: the command reads /dev/null
};

// Called with each chunk as it arrives, in order per stream, on a thread of
// the sandbox's: keep it short, it holds up every other reply.
using OutputCallback = std::function<void(std::span<const std::uint8_t>)>;

struct ExecOutput {
  OutputCallback on_stdout;  // may be empty: output discarded
  OutputCallback on_stderr;
};

struct ExecResult {
  int exit_code = 0;  // the exit status, 128+signal if signalled, -1 if it never ran
  int signal = 0;
  bool timed_out = false;
  std::string error;  // why it never ran
  std::uint64_t duration_ms = 0;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
};

// One running command. Destroying it before wait() returned kills it.
class ExecSession {
 public:
  virtual ~ExecSession() = default;
  virtual Result<void> write_stdin(std::span<const std::uint8_t> bytes) = 0;
  virtual Result<void> close_stdin() = 0;
  // Signals the command's process group.
  virtual Result<void> kill(int signal = 9) = 0;
  // Without a deadline: the command's timeout plus a grace period, or for
  // as long as the sandbox lives when it has none.
  virtual Result<ExecResult> wait(
      std::optional<std::chrono::steady_clock::time_point> deadline = {}) = 0;
  virtual std::int64_t pid() const = 0;
};

struct PtyRequest {
  std::string program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;
  std::uint16_t cols = 80;
  std::uint16_t rows = 24;
};

// One command on a guest pseudo-terminal; its output (one stream) arrives
// through the OutputCallback given to open_pty.
class PtySession {
 public:
  virtual ~PtySession() = default;
  virtual Result<void> write(std::span<const std::uint8_t> keys) = 0;
  virtual Result<void> resize(std::uint16_t cols, std::uint16_t rows) = 0;
  // Hangs the terminal up; wait() then reports how the command ended.
  virtual Result<void> close() = 0;
  virtual Result<ExecResult> wait(
      std::optional<std::chrono::steady_clock::time_point> deadline = {}) = 0;
  virtual std::int64_t pid() const = 0;
};

// An ext4 disk image attached to a VM (virtio-blk) and mounted in the guest
// before it serves, e.g. an agent's read-only disk.
struct DiskAttachment {
  std::filesystem::path image;
  std::string guest;  // absolute mount point
  bool readonly = true;
  // Non-empty: an OCI image reference (an OCI skill). The runtime pulls it
  // when its cache lacks it and attaches its cached ext4 disk read-only in
  // place of `image`.
  std::string oci_image = {};

  static DiskAttachment from_oci_image(std::string ref, std::string guest) {
    return DiskAttachment{{}, std::move(guest), true, std::move(ref)};
  }
};

struct SandboxConfig {
  std::string name = "voidbox";
  // auto, kvm, process, or another backend plugin's name. Empty: the
  // Runtime's backend (auto when the sandbox is made without one).
  std::string backend;
  spec::SandboxMode mode = spec::SandboxMode::auto_;
  std::optional<std::string> kernel;  // VM backends; unset: the usual lookup
  std::optional<std::string> initramfs;
  std::uint32_t memory_mb = 1024;
  std::uint32_t vcpus = 1;
  // enabled false: no NIC at all. Otherwise user-mode networking with this
  // egress policy and these port forwards (host port 0: pick a free one).
  spec::NetworkPolicy network;
  // "HOST:PORT" of the DNS server the policy resolver asks (allow_domains);
  // unset: the host's first resolv.conf nameserver.
  std::optional<std::string> dns_upstream;
  // Added to every command's environment; a request's own entries win.
  std::map<std::string, std::string> env;
  // Host directories shared with the guest (VM backends: one virtio-9p
  // device each; the process backend refuses them).
  std::vector<spec::Mount> mounts;
  // VM backends only; the process backend refuses them.
  std::vector<DiskAttachment> disks;
  // An OCI image reference (sandbox.image): VM backends boot with its tree
  // as the root, a read-only ext4 disk shared by every VM on the image under
  // a writable tmpfs overlay. Its config's Env lies under `env` and its
  // WorkingDir becomes the default `cwd`. The process backend refuses it.
  std::optional<std::string> image;
  // Default working directory of commands; empty: the guest's (/workspace).
  std::string cwd;
  // VM backends: at the end the VMM writes guest RAM to <dir>/<state dir
  // name>.mem (0600, sparse). An audit aid ($VOIDBOX_MEMORY_DUMP_DIR): the
  // dump holds whatever the guest held.
  std::optional<std::filesystem::path> memory_dump_dir;
  // Where the per-sandbox state directory goes; unset: $XDG_RUNTIME_DIR/voidbox,
  // else /tmp/voidbox-<uid>.
  std::optional<std::filesystem::path> state_root;
  std::chrono::milliseconds connect_deadline{30000};
};

// What a sandbox runs on, known once it is ready.
struct SandboxInfo {
  std::string backend;  // the backend chosen, e.g. "kvm" or "process"
  bool vm = false;      // false: the process backend, NOT a security boundary
  std::string kernel;   // VM backends: the guest kernel and initramfs booted
  std::string initramfs;
  std::string guest_kernel;  // uname -r inside the guest
  std::filesystem::path state_dir;
  // The network's port forwards with the host ports actually bound.
  std::vector<spec::PortForward> published_ports;
};

// Called with each warning (e.g. "falling back to the process backend").
using WarningSink = std::function<void(const std::string&)>;

class Sandbox {
 public:
  // Picks the backend, creates and starts the VM, and connects to its guest
  // agent, so a sandbox that returns is ready for exec.
  static Result<std::unique_ptr<Sandbox>> create(const SandboxConfig& config,
                                                 const plugin::Registry& plugins,
                                                 const WarningSink& warn = {});

  Sandbox() = default;
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;
  // Stops the sandbox (bounded) if stop() was not called.
  virtual ~Sandbox() = default;

  virtual const SandboxInfo& info() const = 0;
  // The guest agent's handshake: its version, features and capabilities.
  virtual const protocol::HelloAck& guest() const = 0;

  virtual Result<std::unique_ptr<ExecSession>> start_exec(const ExecRequest& request,
                                                          ExecOutput output) = 0;
  // Runs to completion; `stdin_data` (if any) is sent and then closed.
  virtual Result<ExecResult> exec(const ExecRequest& request, ExecOutput output = {},
                                  std::optional<std::string> stdin_data = {});

  virtual Result<std::uint64_t> write_file(const std::string& path,
                                           std::span<const std::uint8_t> data,
                                           std::uint32_t mode = 0644) = 0;
  // Fails with too_large when the file holds more than max_bytes.
  virtual Result<std::string> read_file(const std::string& path,
                                        std::uint64_t max_bytes = 64u << 20) = 0;
  virtual Result<protocol::StatResult> stat(const std::string& path) = 0;
  virtual Result<void> mkdir(const std::string& path, std::uint32_t mode = 0755) = 0;

  // Commands allowed from the next exec on (empty: all); returns the count.
  virtual Result<std::uint32_t> set_allowlist(const std::vector<std::string>& commands) = 0;
  virtual Result<void> set_limits(const protocol::Limits& limits) = 0;
  virtual Result<void> ping() = 0;

  virtual Result<std::unique_ptr<PtySession>> open_pty(const PtyRequest& request,
                                                       OutputCallback on_output) = 0;

  // Ends every session, stops the VM (bounded) and removes its state;
  // calling it again does nothing.
  virtual void stop() = 0;
};

}  // namespace voidbox
