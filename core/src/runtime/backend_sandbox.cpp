#include "runtime/backend_sandbox.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>

#include "runtime/image_disks.hpp"
#include "runtime/mount_mapping.hpp"
#include "runtime/network_mapping.hpp"
#include "runtime/secret.hpp"
#include "voidbox/sandbox.hpp"

namespace voidbox::runtime {
namespace {

namespace json = boost::json;

constexpr std::int32_t kStopTimeoutMs = 3000;
// Writing a memory dump reads all of guest RAM on the way out.
constexpr std::int32_t kStopWithDumpTimeoutMs = 300000;

std::string vm_config_json(const SandboxConfig& config, const BackendChoice& choice,
                           const std::filesystem::path& state, const protocol::Secret& secret,
                           const std::vector<spec::PortForward>& ports, MountPlan mounts) {
  json::object o;
  o["name"] = config.name;
  if (choice.artifacts) {
    o["kernel"] = choice.artifacts->kernel;
    o["initramfs"] = choice.artifacts->initramfs;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  json::array args;
  args.emplace_back(std::string(protocol::kCmdlineSecretKey) + "=" +
                    protocol::secret_to_hex(secret));
  args.emplace_back(std::string(protocol::kCmdlineClockKey) + "=" + std::to_string(now));
  for (auto& a : mounts.guest_args) args.emplace_back(std::move(a));
  if (!mounts.devices.empty()) o["devices"] = std::move(mounts.devices);
  o["guest_args"] = std::move(args);
  o["memory_mb"] = config.memory_mb;
  o["vcpus"] = config.vcpus;
  o["state_dir"] = state.string();
  o["vsock_cid"] = 3;
  o["serial_log"] = (state / "console.log").string();
  if (config.memory_dump_dir) {
    o["memory_dump"] = (*config.memory_dump_dir / (state.filename().string() + ".mem")).string();
  }
  o["network"] = network_vm_config(config.network, ports, config.dns_upstream);
  return json::serialize(o);
}

// $VOIDBOX_CONNECT_DEADLINE_SECS may only extend the deadline (slow nested
// virtualisation), up to an hour.
std::chrono::milliseconds connect_deadline(std::chrono::milliseconds configured) {
  const char* env = std::getenv("VOIDBOX_CONNECT_DEADLINE_SECS");
  if (env == nullptr) return configured;
  char* end = nullptr;
  long secs = std::strtol(env, &end, 10);
  if (end == env || *end != '\0' || secs <= 0) return configured;
  auto wanted = std::chrono::milliseconds(std::min(secs, 3600L) * 1000);
  return std::max(configured, wanted);
}

Error sandbox_error(std::string message) {
  return Error{Error::Kind::sandbox, std::move(message), std::nullopt};
}

}  // namespace

BackendSandbox::BackendSandbox(BackendChoice choice, StateDir state,
                               std::map<std::string, std::string> env)
    : choice_(std::move(choice)), state_(std::move(state)), env_(std::move(env)) {
  info_.backend = choice_.backend;
  info_.vm = choice_.vm;
  if (choice_.artifacts) {
    info_.kernel = choice_.artifacts->kernel;
    info_.initramfs = choice_.artifacts->initramfs;
  }
  info_.state_dir = state_->path();
}

Result<std::unique_ptr<BackendSandbox>> BackendSandbox::create(const SandboxConfig& config,
                                                               const plugin::Registry& registry,
                                                               const WarningSink& warn) {
  auto choice =
      choose_backend(config.backend, config.mode, {config.kernel, config.initramfs}, registry);
  if (!choice) return std::unexpected(sandbox_error(choice.error()));
  if (!choice->warning.empty() && warn) warn(choice->warning);
  auto factory = registry.backend(choice->backend);
  if (!factory) return std::unexpected(sandbox_error(factory.error().message));
  auto state = StateDir::create(config.name, config.state_root);
  if (!state) return std::unexpected(sandbox_error(state.error()));
  auto secret = generate_secret();
  if (!secret) return std::unexpected(sandbox_error(secret.error()));
  // Before any pull: an image is of no use to a backend without a guest kernel.
  if (uses_images(config) && !choice->vm) {
    return std::unexpected(sandbox_error(
        "backend '" + choice->backend +
        "' cannot boot an OCI image (sandbox.image) or attach OCI skills; use a VM backend such "
        "as --backend kvm"));
  }
  auto images = resolve_images(config, registry);
  if (!images) return std::unexpected(sandbox_error(images.error()));
  auto mounts = plan_mounts(config.mounts, images->disks);
  if (!mounts) return std::unexpected(sandbox_error(mounts.error()));
  if (images->root) {
    auto added = add_root_disk(*mounts, *images->root, config.mounts.size() + images->disks.size());
    if (!added) return std::unexpected(sandbox_error(added.error()));
  }

  std::vector<spec::PortForward> ports;
  if (config.network.enabled && !choice->vm) {
    // The process backend runs the agent in an empty network namespace.
    if (!config.network.ports.empty()) {
      return std::unexpected(sandbox_error(
          "backend '" + choice->backend +
          "' has no guest network, so it cannot publish ports; use a VM backend (--backend kvm)"));
    }
    if (warn) warn("backend '" + choice->backend + "' has no guest network; network is off");
  } else if (config.network.enabled) {
    auto chosen = choose_host_ports(config.network.ports);
    if (!chosen) return std::unexpected(sandbox_error(chosen.error()));
    ports = std::move(*chosen);
  }

  std::unique_ptr<BackendSandbox> box(new BackendSandbox(
      std::move(*choice), std::move(*state), env_over_image(config.env, images->defaults)));
  box->cwd_ = config.cwd.empty() ? images->defaults.working_dir : config.cwd;
  box->info_.published_ports = ports;
  box->stop_timeout_ms_ = config.memory_dump_dir ? kStopWithDumpTimeoutMs : kStopTimeoutMs;
  auto vm = factory->create(vm_config_json(config, box->choice_, box->info_.state_dir, *secret,
                                           ports, std::move(*mounts)));
  if (!vm) {
    return std::unexpected(sandbox_error("backend '" + box->choice_.backend +
                                         "' could not create the VM: " + vm.error().message));
  }
  box->vm_ = std::move(*vm);
  if (auto started = box->vm_->start(); !started) {
    return std::unexpected(sandbox_error("backend '" + box->choice_.backend +
                                         "' could not start the VM: " + started.error().message +
                                         box->console_tail()));
  }

  control::ChannelOptions options;
  options.secret = *secret;
  options.connect_deadline = connect_deadline(config.connect_deadline);
  BackendSandbox* self = box.get();
  auto connector = [self]() -> std::expected<int, std::string> {
    std::lock_guard lock(self->vm_mu_);
    auto fd = self->vm_->connect(protocol::kVsockPort);
    if (!fd) return std::unexpected(fd.error().message);
    return *fd;
  };
  auto liveness = [self]() -> std::optional<std::string> {
    std::lock_guard lock(self->vm_mu_);
    auto exit = self->vm_->wait(0);
    if (!exit || exit->reason == VB_EXIT_RUNNING) return std::nullopt;
    return exit->detail.empty() ? std::string("the VM exited") : exit->detail;
  };
  box->channel_ = std::make_unique<control::ControlChannel>(connector, options, liveness);
  auto hello = box->channel_->connect();
  if (!hello) {
    return std::unexpected(sandbox_error("cannot reach the guest agent on backend '" +
                                         box->choice_.backend + "': " + hello.error().message +
                                         box->console_tail()));
  }
  if (const auto& failed = hello->capabilities.mount_errors; !failed.empty()) {
    std::string message = "the guest could not mount its host shares:";
    for (const auto& e : failed) message += "\n  " + e;
    return std::unexpected(sandbox_error(message));
  }
  box->hello_ = *hello;
  box->info_.guest_kernel = hello->kernel_release;
  return box;
}

BackendSandbox::~BackendSandbox() {
  stop();
}

void BackendSandbox::stop() {
  if (channel_) channel_->close();
  if (vm_) {
    std::lock_guard lock(vm_mu_);
    (void)vm_->stop(stop_timeout_ms_);
    vm_.reset();
  }
  state_.reset();
}

template <class Request>
Request BackendSandbox::with_env(const Request& request) const {
  Request r = request;
  for (const auto& [k, v] : env_) r.env.emplace(k, v);
  if (r.cwd.empty()) r.cwd = cwd_;
  return r;
}

Result<std::unique_ptr<ExecSession>> BackendSandbox::start_exec(const ExecRequest& request,
                                                                ExecOutput output) {
  auto session = channel_->start_exec(with_env(request), std::move(output));
  if (!session) return std::unexpected(session.error());
  return std::unique_ptr<ExecSession>(std::move(*session));
}

Result<std::uint64_t> BackendSandbox::write_file(const std::string& path,
                                                 std::span<const std::uint8_t> data,
                                                 std::uint32_t mode) {
  return channel_->write_file(path, data, mode);
}

Result<std::string> BackendSandbox::read_file(const std::string& path, std::uint64_t max_bytes) {
  return channel_->read_file(path, max_bytes);
}

Result<protocol::StatResult> BackendSandbox::stat(const std::string& path) {
  return channel_->stat(path);
}

Result<void> BackendSandbox::mkdir(const std::string& path, std::uint32_t mode) {
  return channel_->mkdir(path, mode);
}

Result<std::uint32_t> BackendSandbox::set_allowlist(const std::vector<std::string>& commands) {
  return channel_->set_allowlist(commands);
}

Result<void> BackendSandbox::set_limits(const protocol::Limits& limits) {
  return channel_->set_limits(limits);
}

Result<void> BackendSandbox::ping() {
  return channel_->ping();
}

Result<std::unique_ptr<PtySession>> BackendSandbox::open_pty(const PtyRequest& request,
                                                             OutputCallback on_output) {
  auto session = channel_->open_pty(with_env(request), std::move(on_output));
  if (!session) return std::unexpected(session.error());
  return std::unique_ptr<PtySession>(std::move(*session));
}

std::string BackendSandbox::console_tail(std::size_t lines) const {
  for (const char* name : {"console.log", "agent.log"}) {
    std::ifstream in(info_.state_dir / name);
    if (!in) continue;
    std::deque<std::string> tail;
    std::string line;
    while (std::getline(in, line)) {
      tail.push_back(line.substr(0, 300));
      if (tail.size() > lines) tail.pop_front();
    }
    if (tail.empty()) continue;
    std::string out = "\n--- last lines of " + std::string(name) + " ---";
    for (const auto& l : tail) out += "\n" + l;
    return out;
  }
  return {};
}

}  // namespace voidbox::runtime
