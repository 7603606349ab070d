#include "runtime/backend_choice.hpp"

#include <vector>

namespace voidbox::runtime {
namespace {

// What the backend says it is. A plugin built for ABI 1.0 cannot say: it is
// taken at the 1.0 contract (a VM config with kernel and initramfs) but never
// counted as an isolation boundary, so `auto` never picks it.
plugin::BackendCapabilities capabilities_of(const plugin::BackendFactory& factory) {
  if (auto caps = factory.capabilities()) return *caps;
  return {.vm = false, .needs_kernel = true};
}

// Why `factory` cannot run here, or the artifacts it needs (none for a
// backend without a guest kernel).
std::expected<std::optional<GuestArtifacts>, std::string> ready(
    const plugin::BackendFactory& factory, const ArtifactRequest& request) {
  if (auto probe = factory.probe(); !probe) {
    return std::unexpected("backend '" + factory.name() +
                           "' cannot run here: " + probe.error().message);
  }
  if (!capabilities_of(factory).needs_kernel) return std::optional<GuestArtifacts>();
  auto artifacts = resolve_guest_artifacts(request);
  if (!artifacts) return std::unexpected(artifacts.error());
  return std::optional<GuestArtifacts>(*artifacts);
}

std::expected<BackendChoice, std::string> choose(const plugin::BackendFactory& factory,
                                                 const ArtifactRequest& request) {
  auto is_ready = ready(factory, request);
  if (!is_ready) return std::unexpected(is_ready.error());
  BackendChoice choice;
  choice.backend = factory.name();
  choice.vm = capabilities_of(factory).vm;
  choice.artifacts = *is_ready;
  return choice;
}

// Registered backends that say they are (or are not) VMs, in load order.
std::vector<plugin::BackendFactory> backends(const plugin::Registry& registry, bool vm) {
  std::vector<plugin::BackendFactory> out;
  for (const auto& f : registry.factories()) {
    if (f.kind != VB_KIND_BACKEND) continue;
    auto factory = registry.backend(f.name);
    if (!factory) continue;
    auto caps = factory->capabilities();
    if (vm ? caps && caps->vm : caps && !caps->vm) out.push_back(*factory);
  }
  return out;
}

}  // namespace

std::expected<BackendChoice, std::string> choose_backend(const std::string& requested,
                                                         spec::SandboxMode mode,
                                                         const ArtifactRequest& artifacts,
                                                         const plugin::Registry& registry) {
  const std::string wanted = requested.empty() ? "auto" : requested;
  if (wanted != "auto") {
    auto factory = registry.backend(wanted);
    if (!factory) {
      return std::unexpected("backend plugin '" + wanted + "' not found (" +
                             factory.error().message + ")");
    }
    return choose(*factory, artifacts);
  }

  if (mode == spec::SandboxMode::mock) {
    const auto local = backends(registry, /*vm=*/false);
    if (local.empty()) return std::unexpected(std::string("no non-VM backend plugin loaded"));
    auto choice = choose(local.front(), artifacts);
    if (choice) {
      choice->warning =
          "sandbox.mode: mock has no command emulator here; commands run for real "
          "on the '" +
          choice->backend + "' backend, which is NOT VM-isolated";
    }
    return choice;
  }

  // A VM when one can boot here; sandbox.mode local accepts nothing else.
  std::string why_not;
  for (const auto& factory : backends(registry, /*vm=*/true)) {
    auto choice = choose(factory, artifacts);
    if (choice) return choice;
    why_not += (why_not.empty() ? "" : "; ") + choice.error();
  }
  if (why_not.empty()) why_not = "no VM backend plugin loaded";
  if (mode == spec::SandboxMode::local) return std::unexpected(why_not);

  const auto local = backends(registry, /*vm=*/false);
  if (local.empty()) {
    return std::unexpected("no backend can run this: " + why_not +
                           "; and no non-VM backend plugin loaded");
  }
  auto choice = choose(local.front(), artifacts);
  if (!choice)
    return std::unexpected("no backend can run this: " + why_not + "; " + choice.error());
  choice->warning = "NO VM: " + why_not + ". Falling back to the '" + choice->backend +
                    "' backend: the work runs as local processes and is NOT VM-isolated (use "
                    "--backend kvm or sandbox.mode: local to refuse this fallback)";
  return choice;
}

}  // namespace voidbox::runtime
