// Which backend runs a sandbox.
//
//   auto (flag) / sandbox.mode auto: a VM backend ("kvm") when it can boot a
//     VM here (plugin present, probe OK, kernel+initramfs found); otherwise
//     the "process" backend, with a warning that says why and that the work
//     is NOT VM-isolated.
//   kvm (or any other VM backend) / sandbox.mode local: that VM backend or a
//     failure naming the reason; never a fallback.
//   process: the process backend (no VM).
//   sandbox.mode mock: the process backend, with a warning (there is no
//     command emulator; commands really run, unconfined by a VM).
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "runtime/guest_artifacts.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

inline constexpr const char* kProcessBackend = "process";
inline constexpr const char* kDefaultVmBackend = "kvm";

struct BackendChoice {
  std::string backend;
  bool vm = false;                          // false: the process backend, no isolation
  std::optional<GuestArtifacts> artifacts;  // set for VM backends
  std::string warning;                      // non-empty when falling back
};

std::expected<BackendChoice, std::string> choose_backend(const std::string& requested,
                                                         spec::SandboxMode mode,
                                                         const ArtifactRequest& artifacts,
                                                         const plugin::Registry& registry);

}  // namespace voidbox::runtime
