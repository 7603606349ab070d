// Which backend runs a sandbox, from what each backend says it is (its ABI
// 1.1 capabilities), never from its name.
//
//   auto (flag) / sandbox.mode auto: the first VM backend that can boot a VM
//     here (probe OK, kernel+initramfs found when it needs them); otherwise
//     the first non-VM backend ("process"), with a warning that says why and
//     that the work is NOT VM-isolated.
//   sandbox.mode local: a VM backend or a failure naming the reasons; never a
//     fallback.
//   a named backend (--backend kvm, --backend process): that backend or a
//     failure naming the reason.
//   sandbox.mode mock: the first non-VM backend, with a warning (there is no
//     command emulator; commands really run, unconfined by a VM).
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "runtime/guest_artifacts.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

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
