// The fixture of the registry tests: a scratch directory and cache per test,
// and helpers to run `voidbox image ...` against the shared test world.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "process.hpp"
#include "test_images.hpp"

namespace voidbox::oci_test {

// The world built once for the whole test program (see world_environment.cpp).
TestWorld* current_world();

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = current_world();
    ASSERT_NE(w_, nullptr);
    ASSERT_TRUE(w_->error.empty()) << w_->error;
    std::string tmpl = (std::filesystem::path(w_->work) / "case-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    cache_ = dir_ + "/cache";
    std::filesystem::create_directories(dir_ +
                                        "/docker");  // an empty DOCKER_CONFIG: no stray credentials
  }
  void TearDown() override {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory() && !it->is_symlink()) {
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
      }
    }
    std::filesystem::remove_all(dir_, ec);
  }

  std::vector<std::string> env(std::vector<std::string> extra = {}) const {
    auto set_unless_given = [&](const std::string& name, const std::string& value) {
      for (const auto& e : extra) {
        if (e.starts_with(name + "=")) return;
      }
      extra.push_back(name + "=" + value);
    };
    set_unless_given("DOCKER_CONFIG", dir_ + "/docker");
    for (const char* name :
         {"VOIDBOX_REGISTRY_USER", "VOIDBOX_REGISTRY_PASSWORD", "VOIDBOX_TEST_STALL_AFTER_BYTES"}) {
      set_unless_given(name, "");
    }
    return extra;
  }

  std::vector<std::string> cli(std::vector<std::string> args, bool json_output = true) const {
    std::vector<std::string> argv = {w_->voidbox};
    if (json_output) argv.insert(argv.end(), {"--output", "json"});
    argv.push_back("image");
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--cache-dir", cache_});
    return argv;
  }

  ProcessResult image(std::vector<std::string> args, std::vector<std::string> extra_env = {}) {
    return run(cli(std::move(args)), env(std::move(extra_env)));
  }

  static boost::json::object parse(const ProcessResult& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.out, ec);
    return !ec && v.is_object() ? v.as_object() : boost::json::object{};
  }

  std::string ref(const std::string& name) const { return w_->open->host() + "/" + name; }

  TestWorld* w_ = nullptr;
  std::string dir_;
  std::string cache_;
};

}  // namespace voidbox::oci_test
