// The sandbox a conformance run talks to: backend from
// $VOIDBOX_CONFORMANCE_BACKEND (default "process"), one per test suite.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "voidbox/plugin/registry.hpp"
#include "voidbox/sandbox.hpp"

namespace voidbox::conformance {

inline std::string backend_under_test() {
  const char* b = std::getenv("VOIDBOX_CONFORMANCE_BACKEND");
  return b != nullptr && *b != '\0' ? b : "process";
}

// Backends whose agent runs as root inside a VM, so it can always switch
// commands to uid 1000; VOIDBOX_CONFORMANCE_MUST_DROP=1 demands it of any.
inline bool backend_must_drop_privileges() {
  const char* forced = std::getenv("VOIDBOX_CONFORMANCE_MUST_DROP");
  if (forced != nullptr && *forced != '\0') return std::string(forced) == "1";
  return backend_under_test() == "kvm";
}

// Owns the registry so the plugin outlives the sandbox.
struct SandboxHolder {
  plugin::Registry registry;
  std::unique_ptr<Sandbox> sandbox;
  std::string error;

  explicit SandboxHolder(const std::string& name) {
    registry.load_default();
    SandboxConfig config;
    config.name = name;
    config.backend = backend_under_test();
    config.memory_mb = 512;
    auto box = Sandbox::create(config, registry);
    if (box) {
      sandbox = std::move(*box);
    } else {
      error = box.error().message;
    }
  }
};

// Fixture base of a conformance suite: one sandbox for all of the suite's
// tests, made once; each test fails at once if it could not be made.
// Suite is the deriving class, with `static constexpr const char* kSandboxName`.
template <typename Suite>
class SandboxSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { holder_ = new SandboxHolder(Suite::kSandboxName); }
  static void TearDownTestSuite() {
    delete holder_;
    holder_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(holder_->sandbox) << "no sandbox on backend '" << backend_under_test()
                                  << "': " << holder_->error;
  }
  Sandbox& ch() { return *holder_->sandbox; }
  const protocol::HelloAck& guest() { return holder_->sandbox->guest(); }

  static inline SandboxHolder* holder_ = nullptr;
};

}  // namespace voidbox::conformance
