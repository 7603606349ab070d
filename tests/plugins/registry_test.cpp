// The loader against real .so fixtures: each way a plugin can be broken is
// reported with its path and reason and skipped; the good one works through
// the C++ factories and stays loaded while its objects live.
#include "voidbox/plugin/registry.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "voidbox/log.hpp"

namespace {

namespace fs = std::filesystem;
using voidbox::plugin::Registry;

const fs::path kFixtures = VOIDBOX_PLUGIN_FIXTURE_DIR;
const fs::path kGood = kFixtures / "libfixture-good.so";

std::map<std::string, std::string> failures_by_file(const Registry& registry) {
  std::map<std::string, std::string> out;
  for (const auto& f : registry.failures()) {
    out[f.path.filename().string()] += f.reason + "\n";
  }
  return out;
}

TEST(PluginLoader, LoadsTheGoodFixtureWithItsFactories) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(kGood))
      << (registry.failures().empty() ? "" : registry.failures()[0].reason);
  auto plugins = registry.plugins();
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0].name, "fixture-good");
  EXPECT_EQ(plugins[0].version, "1.2.3");
  EXPECT_EQ(plugins[0].description, "well-behaved test plugin");
  EXPECT_EQ(plugins[0].abi_major, VOIDBOX_ABI_MAJOR);
  EXPECT_EQ(plugins[0].abi_minor, VOIDBOX_ABI_MINOR);
  EXPECT_EQ(plugins[0].path, kGood);
  ASSERT_EQ(plugins[0].factories.size(), 2u);
  EXPECT_EQ(plugins[0].factories[0].kind, VB_KIND_EXPORTER);
  EXPECT_EQ(plugins[0].factories[0].name, "fixture-echo");
  EXPECT_EQ(plugins[0].factories[1].kind, VB_KIND_BACKEND);
  EXPECT_EQ(plugins[0].factories[1].name, "fixture-null");
  EXPECT_TRUE(registry.failures().empty());
  ASSERT_TRUE(registry.find(VB_KIND_BACKEND, "fixture-null").has_value());
  EXPECT_EQ(registry.find(VB_KIND_BACKEND, "fixture-null")->plugin->name, "fixture-good");
  EXPECT_FALSE(registry.find(VB_KIND_EXPORTER, "fixture-null").has_value());
}

TEST(PluginLoader, ReportsEveryBrokenFixtureWithItsReason) {
  Registry registry;
  registry.load_directory(kFixtures);
  registry.load_directory(kFixtures / "shadow");

  std::vector<std::string> loaded;
  for (const auto& p : registry.plugins()) loaded.push_back(p.name);
  EXPECT_EQ(loaded, (std::vector<std::string>{"device-fixture-good", "device-fixture-x-dup-device",
                                              "device-fixture-x-null-entry", "fixture-good",
                                              "fixture-x-dup-factory"}));

  auto why = failures_by_file(registry);
  auto expect_reason = [&](const std::string& file, const std::string& text) {
    ASSERT_TRUE(why.contains(file)) << file << " was not reported";
    EXPECT_NE(why[file].find(text), std::string::npos) << file << ": " << why[file];
  };
  const std::string abi =
      std::to_string(VOIDBOX_ABI_MAJOR) + "." + std::to_string(VOIDBOX_ABI_MINOR);
  const std::string next_minor =
      std::to_string(VOIDBOX_ABI_MAJOR) + "." + std::to_string(VOIDBOX_ABI_MINOR + 1);
  expect_reason("libfixture-x-no-entry.so", "no voidbox_plugin_entry symbol");
  expect_reason("libfixture-x-abi-major.so", "ABI major version 2 does not match host ABI 1.x");
  expect_reason("libfixture-x-abi-minor.so",
                "needs ABI " + next_minor + ", newer than host ABI " + abi);
  expect_reason("libfixture-x-misnamed.so",
                "plugin name 'fixture-other' does not match the file name (plugin "
                "'fixture-other' must be libfixture-other.so)");
  expect_reason("libfixture-good.so",  // the one in shadow/
                "duplicate plugin name 'fixture-good' (already loaded from " + kGood.string());
  expect_reason("libfixture-x-init-fails.so",
                "init failed (unsupported): fixture refuses to start: no widget attached");
  expect_reason("libfixture-x-bad-size.so", "descriptor struct_size 8 is not plausible");
  expect_reason("libfixture-x-dup-factory.so",
                "duplicate factory exporter 'fixture-echo': already provided by plugin "
                "'fixture-good'");
  expect_reason("libfixture-x-unresolved.so", "cannot load: ");
  expect_reason("libfixture-x-unresolved.so", "fixture_function_that_does_not_exist");
  expect_reason("garbage.so", "not an ELF file");
  expect_reason("libdevice-fixture-x-null-entry.so",
                "device 'fixture-null-entry' rejected: device vtable has a null 'queue_notify'");
  expect_reason("libdevice-fixture-x-abi-major.so", "ABI major version 2 does not match");
  expect_reason("libdevice-fixture-x-misnamed.so",
                "plugin name 'device-fixture-other' does not match the file name");
  expect_reason("libdevice-fixture-x-init-fails.so",
                "init failed (unsupported): fixture device refuses to start: no backing file");
  expect_reason("libdevice-fixture-x-dup-device.so",
                "duplicate factory device 'fixture-device': already provided by plugin "
                "'device-fixture-good'");
  EXPECT_FALSE(why.contains("README.txt"));
  EXPECT_EQ(why.size(), 15u);

  // The duplicate factory was refused, the plugin's other one kept.
  auto echo = registry.find(VB_KIND_EXPORTER, "fixture-echo");
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->plugin->name, "fixture-good");
  EXPECT_TRUE(registry.find(VB_KIND_EXPORTER, "fixture-x-dup-factory-exporter").has_value());
  ASSERT_TRUE(registry.find(VB_KIND_DEVICE, "fixture-device").has_value());
  EXPECT_EQ(registry.find(VB_KIND_DEVICE, "fixture-device")->plugin->name, "device-fixture-good");
  EXPECT_FALSE(registry.find(VB_KIND_DEVICE, "fixture-null-entry").has_value());
  // Nothing from a failed plugin is registered, even what it did before failing.
  EXPECT_FALSE(registry.find(VB_KIND_EXPORTER, "fixture-x-init-fails-exporter").has_value());
  EXPECT_FALSE(registry.find(VB_KIND_EXPORTER, "fixture-good-exporter").has_value());
}

TEST(VtableCheck, NamesTheFirstNullFunctionOfEachKind) {
  using voidbox::plugin::vtable_rejection;
  vb_backend_vtable backend{};
  backend.struct_size = sizeof backend;
  EXPECT_EQ(vtable_rejection(VB_KIND_BACKEND, &backend), "backend vtable has a null 'probe'");
  backend.struct_size = 8;
  EXPECT_NE(vtable_rejection(VB_KIND_BACKEND, &backend).find("backend vtable struct_size 8 <"),
            std::string::npos);
  vb_exporter_vtable exporter{};
  exporter.struct_size = sizeof exporter;
  EXPECT_EQ(vtable_rejection(VB_KIND_EXPORTER, &exporter), "exporter vtable has a null 'create'");
  EXPECT_EQ(vtable_rejection(VB_KIND_DEVICE, nullptr), "vtable is null");
  std::size_t huge = 1 << 20;
  EXPECT_NE(vtable_rejection(VB_KIND_DEVICE, &huge).find("implausible"), std::string::npos);
}

TEST(PluginLoader, MissingDirectoryIsNotAnError) {
  Registry registry;
  registry.load_directory(kFixtures / "does-not-exist");
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_TRUE(registry.failures().empty());
}

TEST(PluginLoader, MissingFileIsReported) {
  Registry registry;
  EXPECT_FALSE(registry.load_file(kFixtures / "libnothing.so"));
  ASSERT_EQ(registry.failures().size(), 1u);
  EXPECT_EQ(registry.failures()[0].reason, "cannot open file");
}

TEST(ExporterFactory, CreatesExportsAndReportsPluginErrors) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(kGood));
  auto factory = registry.exporter("fixture-echo");
  ASSERT_TRUE(factory.has_value());
  EXPECT_EQ(registry.exporter("nope").error().status, VB_ERR_NOT_FOUND);

  auto bad = factory->create("not json");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().status, VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bad.error().message, "config must be a JSON object");

  auto exporter = factory->create("{}");
  ASSERT_TRUE(exporter.has_value());
  EXPECT_EQ((*exporter)->flush().error().message, "nothing to flush");
  EXPECT_TRUE((*exporter)->export_record(VB_RECORD_SPAN, R"({"name":"x"})").has_value());
  auto big = (*exporter)->export_record(VB_RECORD_LOG, std::string(100, 'x'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().status, VB_ERR_IO);
  // An exception inside the plugin stops at the plugin's edge.
  auto threw = (*exporter)->export_record(VB_RECORD_LOG, "\"throw\"");
  ASSERT_FALSE(threw.has_value());
  EXPECT_EQ(threw.error().status, VB_ERR_INTERNAL);
  EXPECT_EQ(threw.error().message, "exporter threw on purpose");
  EXPECT_TRUE((*exporter)->flush().has_value());
}

TEST(BackendFactory, DrivesAVmThroughItsLifecycle) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(kGood));
  auto factory = registry.backend("fixture-null");
  ASSERT_TRUE(factory.has_value());
  EXPECT_TRUE(factory->probe().has_value());

  auto refused = factory->create(R"({"name":"fail"})");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().status, VB_ERR_UNSUPPORTED);
  EXPECT_EQ(refused.error().message, "asked to fail");

  auto vm = factory->create(R"({"name":"vm1"})");
  ASSERT_TRUE(vm.has_value());
  EXPECT_EQ((*vm)->backend(), "fixture-null");
  EXPECT_EQ((*vm)->connect(1024).error().message, "vm not started");
  ASSERT_TRUE((*vm)->start().has_value());

  auto fd = (*vm)->connect(1024);
  ASSERT_TRUE(fd.has_value());
  char buffer[64] = {};
  ssize_t n = ::read(*fd, buffer, sizeof buffer - 1);
  ::close(*fd);
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "hello port 1024\n");

  auto running = (*vm)->wait(0);
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->reason, VB_EXIT_RUNNING);
  ASSERT_TRUE((*vm)->stop(100).has_value());
  auto ended = (*vm)->wait(-1);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->reason, VB_EXIT_KILLED);
  EXPECT_EQ(ended->code, 9);
  EXPECT_EQ(ended->detail, "stopped by host");
}

TEST(PluginLifetime, LibraryOutlivesTheRegistryUntilItsLastObjectIsGone) {
  const fs::path marker =
      fs::temp_directory_path() / ("voidbox-shutdown-marker-" + std::to_string(::getpid()));
  fs::remove(marker);
  ::setenv("VOIDBOX_FIXTURE_SHUTDOWN_MARKER", marker.c_str(), 1);

  std::unique_ptr<voidbox::plugin::Exporter> exporter;
  {
    Registry registry;
    ASSERT_TRUE(registry.load_file(kGood));
    auto made = registry.exporter("fixture-echo")->create("{}");
    ASSERT_TRUE(made.has_value());
    exporter = std::move(*made);
  }
  // Registry and factory are gone; the object still calls into the library.
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_TRUE(exporter->export_record(VB_RECORD_LOG, "{}").has_value());
  exporter.reset();
  EXPECT_TRUE(fs::exists(marker)) << "shutdown did not run after the last object";
  fs::remove(marker);
  ::unsetenv("VOIDBOX_FIXTURE_SHUTDOWN_MARKER");
}

TEST(PluginLog, PluginMessagesReachTheHostLog) {
  const fs::path dir =
      fs::temp_directory_path() / ("voidbox-plugin-log-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  voidbox::log::init(
      {.level = voidbox::log::Level::info, .format = voidbox::log::Format::json, .dir = dir});
  {
    Registry registry;
    ASSERT_TRUE(registry.load_file(kGood));
  }
  voidbox::log::flush();
  voidbox::log::init({});
  std::ifstream in(dir / "voidbox.log");
  bool found = false;
  for (std::string line; std::getline(in, line);) {
    auto record = boost::json::parse(line).as_object();
    if (record.at("component").as_string() == "plugin:fixture-good" &&
        record.at("msg").as_string() == "fixture-good ready") {
      found = true;
    }
  }
  EXPECT_TRUE(found);
  fs::remove_all(dir);
}

TEST(SearchDirs, FromTheBuildTreeEnvComesBeforeTheBuildDirectory) {
  ::setenv("VOIDBOX_PLUGIN_PATH", (kFixtures.string() + "::/nonexistent/voidbox-a").c_str(), 1);
  auto dirs = voidbox::plugin::default_search_dirs();
  ::unsetenv("VOIDBOX_PLUGIN_PATH");
  ASSERT_EQ(dirs.size(), 3u);
  EXPECT_EQ(dirs[0].path, fs::canonical(kFixtures));
  EXPECT_EQ(dirs[0].origin, "env");
  EXPECT_EQ(dirs[1].path, fs::path("/nonexistent/voidbox-a"));
  EXPECT_EQ(dirs[1].origin, "env");
  EXPECT_EQ(dirs[2].origin, "build");
  EXPECT_EQ(dirs[2].path.filename(), "plugins");
  EXPECT_EQ(dirs[2].path.parent_path().filename(), "voidbox");
}

}  // namespace
