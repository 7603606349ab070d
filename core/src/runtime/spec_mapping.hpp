// From a spec to the sandbox it asks for: its `sandbox` block as a
// SandboxConfig, the host environment it copies, and the fields this runtime
// reads but does not act on yet.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/sandbox.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

// A variable of the host environment, or nullopt when it is not set.
using HostEnv = std::function<std::optional<std::string>(const std::string&)>;
// This process's environment.
std::optional<std::string> process_env(const std::string& name);

// The spec's env with every "" value replaced by the host's value of that
// variable; a variable the host does not set is left out.
std::map<std::string, std::string> resolve_env(const std::map<std::string, std::string>& env,
                                               const HostEnv& host);

// name, mode, kernel, initramfs, memory, CPUs, network, mounts, image and resolved env.
// backend and state_root stay unset (they are the runtime's).
SandboxConfig sandbox_config_for(const spec::RunSpec& spec, const HostEnv& host);

// One warning per sandbox field that is ignored.
std::vector<std::string> unsupported_sandbox_fields(const spec::Sandbox& sandbox);

}  // namespace voidbox::runtime
