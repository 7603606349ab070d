#include "runtime/backend_choice.hpp"

namespace voidbox::runtime {
namespace {

// Why a VM backend cannot run here, or nullopt with the artifacts when it can.
std::expected<GuestArtifacts, std::string> vm_ready(const std::string& name,
                                                    const ArtifactRequest& request,
                                                    const plugin::Registry& registry) {
  auto factory = registry.backend(name);
  if (!factory) {
    return std::unexpected("backend plugin '" + name + "' not found (" + factory.error().message +
                           ")");
  }
  if (auto probe = factory->probe(); !probe) {
    return std::unexpected("backend '" + name + "' cannot run here: " + probe.error().message);
  }
  return resolve_guest_artifacts(request);
}

}  // namespace

std::expected<BackendChoice, std::string> choose_backend(const std::string& requested,
                                                         spec::SandboxMode mode,
                                                         const ArtifactRequest& artifacts,
                                                         const plugin::Registry& registry) {
  BackendChoice choice;
  std::string wanted = requested.empty() ? "auto" : requested;
  if (wanted == "auto" && mode == spec::SandboxMode::local) wanted = kDefaultVmBackend;
  if (wanted == "auto" && mode == spec::SandboxMode::mock) {
    wanted = kProcessBackend;
    choice.warning =
        "sandbox.mode: mock has no command emulator here; commands run for real on the "
        "'process' backend, which is NOT VM-isolated";
  }

  if (wanted == kProcessBackend) {
    if (auto f = registry.backend(kProcessBackend); !f) {
      return std::unexpected("backend plugin 'process' not found (" + f.error().message + ")");
    }
    choice.backend = kProcessBackend;
    return choice;
  }

  if (wanted != "auto") {
    auto ready = vm_ready(wanted, artifacts, registry);
    if (!ready) return std::unexpected(ready.error());
    choice.backend = wanted;
    choice.vm = true;
    choice.artifacts = *ready;
    return choice;
  }

  auto ready = vm_ready(kDefaultVmBackend, artifacts, registry);
  if (ready) {
    choice.backend = kDefaultVmBackend;
    choice.vm = true;
    choice.artifacts = *ready;
    return choice;
  }
  if (auto f = registry.backend(kProcessBackend); !f) {
    return std::unexpected("no backend can run this: " + ready.error() +
                           "; and backend plugin 'process' not found (" + f.error().message + ")");
  }
  choice.backend = kProcessBackend;
  choice.warning = "NO VM: " + ready.error() +
                   ". Falling back to the 'process' backend: the work runs as local processes "
                   "and is NOT VM-isolated (use --backend kvm or sandbox.mode: local to refuse "
                   "this fallback)";
  return choice;
}

}  // namespace voidbox::runtime
