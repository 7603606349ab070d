// Builds the registries and images once per test program and tears them down.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "registry_fixture.hpp"

namespace voidbox::oci_test {
namespace {

namespace fs = std::filesystem;

TestWorld* g_world = nullptr;

class WorldEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    world_ = std::make_unique<TestWorld>();
    build_world(*world_);
    g_world = world_.get();
  }
  void TearDown() override {
    std::string work = world_->work;
    g_world = nullptr;
    world_.reset();  // kills the registries
    std::error_code ec;
    if (!work.empty()) fs::remove_all(work, ec);
  }

 private:
  std::unique_ptr<TestWorld> world_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new WorldEnvironment);

}  // namespace

TestWorld* current_world() {
  return g_world;
}

}  // namespace voidbox::oci_test
