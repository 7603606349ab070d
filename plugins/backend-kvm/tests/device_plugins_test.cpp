// voidbox-vmm's device-plugin loading against the broken fixtures of
// tests/plugins: it refuses exactly the libraries `voidbox plugins list`
// refuses among those it considers (libdevice-*.so), with the same reasons,
// and keeps the good device.
#include "vmm/device_plugins.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <string>

namespace voidbox::kvm {
namespace {

const std::string kFixtures = VOIDBOX_PLUGIN_FIXTURE_DIR;

std::string run(const std::string& command) {
  std::string out;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

bool is_device_file(const std::string& path) {
  return path.substr(path.rfind('/') + 1).starts_with("libdevice-");
}

TEST(VmmDevicePlugins, RefusesWhatPluginsListRefusesForTheSameReasons) {
  const std::string listed = run("VOIDBOX_PLUGIN_PATH='" + kFixtures + "' " + VOIDBOX_CLI +
                                 " --output json plugins list 2>/dev/null");
  const auto doc = boost::json::parse(listed).as_object();
  std::map<std::string, std::string> cli;
  for (const auto& f : doc.at("failures").as_array()) {
    const std::string path(f.as_object().at("path").as_string());
    if (path.starts_with(kFixtures) && is_device_file(path)) {
      cli[path] += std::string(f.as_object().at("reason").as_string()) + "\n";
    }
  }

  const DeviceFactories factories = load_device_plugins_from({kFixtures});
  std::map<std::string, std::string> vmm;
  for (const auto& f : factories.refused()) {
    EXPECT_TRUE(is_device_file(f.path.string())) << "opened a non-device library: " << f.path;
    vmm[f.path.string()] += f.reason + "\n";
  }

  EXPECT_EQ(vmm, cli);
  EXPECT_EQ(vmm.size(), 5u);
  EXPECT_NE(vmm[kFixtures + "/libdevice-fixture-x-null-entry.so"].find(
                "device vtable has a null 'queue_notify'"),
            std::string::npos);
  EXPECT_NE(factories.find("fixture-device"), factories.end());
  EXPECT_EQ(factories.find("fixture-null-entry"), factories.end());
  EXPECT_EQ(factories.find("fixture-echo"), factories.end());  // an exporter, never loaded here
}

TEST(VmmDevicePlugins, InstalledPluginDirIsRelativeToTheVmm) {
  const std::string_view dir = installed_plugin_dir_from_vmm();
  EXPECT_FALSE(dir.starts_with("/")) << dir;
  EXPECT_TRUE(dir.ends_with("voidbox/plugins")) << dir;
}

}  // namespace
}  // namespace voidbox::kvm
