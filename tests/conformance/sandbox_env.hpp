// The sandbox a conformance run talks to: backend from
// $VOIDBOX_CONFORMANCE_BACKEND (default "process"), one per test suite.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

#include "runtime/sandbox.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::conformance {

inline std::string backend_under_test() {
  const char* b = std::getenv("VOIDBOX_CONFORMANCE_BACKEND");
  return b != nullptr && *b != '\0' ? b : "process";
}

// Owns the registry so the plugin outlives the sandbox.
struct SandboxHolder {
  plugin::Registry registry;
  std::unique_ptr<runtime::Sandbox> sandbox;
  std::string error;

  explicit SandboxHolder(const std::string& name) {
    registry.load_default();
    runtime::SandboxConfig config;
    config.name = name;
    config.backend = backend_under_test();
    config.memory_mb = 512;
    auto box = runtime::Sandbox::create(config, registry, {});
    if (box) {
      sandbox = std::move(*box);
    } else {
      error = box.error();
    }
  }
};

}  // namespace voidbox::conformance
