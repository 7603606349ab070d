// `voidbox plugins list` as a user runs it, pointed at the broken fixtures.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "voidbox/plugin_abi.h"

namespace {

struct CommandResult {
  int status = -1;
  std::string output;
};

// Runs a shell command; `redirect` says what reaches the pipe (default: both
// streams).
CommandResult run(const std::string& command, const std::string& redirect = "2>&1") {
  CommandResult result;
  std::FILE* pipe = ::popen((command + " " + redirect).c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    result.output.append(buffer, n);
  }
  int raw = ::pclose(pipe);
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return result;
}

std::string regex_escape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

const std::string kWithFixtures = std::string("VOIDBOX_PLUGIN_PATH='") +
                                  VOIDBOX_PLUGIN_FIXTURE_DIR + ":" + VOIDBOX_PLUGIN_FIXTURE_DIR +
                                  "/shadow' " + VOIDBOX_CLI;
const std::string kAbi =
    std::to_string(VOIDBOX_ABI_MAJOR) + "\\." + std::to_string(VOIDBOX_ABI_MINOR);

TEST(PluginsListCli, ListsTheGoodFixtureAndEveryFailureWithItsReason) {
  CommandResult r = run(kWithFixtures + " plugins list");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string fixtures = VOIDBOX_PLUGIN_FIXTURE_DIR;
  for (const std::string& text : std::vector<std::string>{
           std::string("KIND"),
           "fixture-good",
           "1.2.3",
           fixtures + "/libfixture-good.so",
           "Failed to load:",
           fixtures + "/libfixture-x-no-entry.so: no voidbox_plugin_entry symbol",
           fixtures + "/libfixture-x-abi-major.so: ABI major version 2 does not match",
           fixtures + "/libfixture-x-abi-minor.so: needs ABI",
           fixtures + "/libfixture-x-misnamed.so: plugin name 'fixture-other' does not match",
           fixtures + "/shadow/libfixture-good.so: duplicate plugin name 'fixture-good'",
           fixtures + "/libdevice-fixture-x-null-entry.so: device 'fixture-null-entry' rejected: "
                      "device vtable has a null 'queue_notify'",
           fixtures + "/libfixture-x-init-fails.so: init failed (unsupported): fixture refuses",
           fixtures + "/libfixture-x-bad-size.so: descriptor struct_size 8",
           fixtures + "/libfixture-x-dup-factory.so: duplicate factory exporter 'fixture-echo'",
           fixtures + "/libfixture-x-unresolved.so: cannot load",
           fixtures + "/garbage.so: not an ELF file",
           fixtures + " (env)",
       }) {
    EXPECT_NE(r.output.find(text), std::string::npos) << "missing: " << text << "\n" << r.output;
  }
  // One row per factory: kind, name, plugin, version, ABI, path.
  const std::string good_path = regex_escape(fixtures + "/libfixture-good.so");
  EXPECT_TRUE(std::regex_search(
      r.output,
      std::regex("\nexporter +fixture-echo +fixture-good +1\\.2\\.3 +" + kAbi + " +" + good_path)))
      << r.output;
  EXPECT_TRUE(std::regex_search(
      r.output,
      std::regex("\nbackend +fixture-null +fixture-good +1\\.2\\.3 +" + kAbi + " +" + good_path)))
      << r.output;
}

TEST(PluginsListCli, JsonOutputCarriesPluginsAndFailures) {
  CommandResult r = run(kWithFixtures + " --output json plugins list", "2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  auto doc = boost::json::parse(r.output).as_object();
  bool good = false;
  for (const auto& p : doc.at("plugins").as_array()) {
    const auto& plugin = p.as_object();
    if (plugin.at("name").as_string() != "fixture-good") continue;
    good = true;
    EXPECT_EQ(plugin.at("version").as_string(), "1.2.3");
    EXPECT_EQ(plugin.at("abi").as_string(),
              std::to_string(VOIDBOX_ABI_MAJOR) + "." + std::to_string(VOIDBOX_ABI_MINOR));
    ASSERT_EQ(plugin.at("factories").as_array().size(), 2u);
    EXPECT_EQ(plugin.at("factories").as_array()[0].as_object().at("kind").as_string(), "exporter");
  }
  EXPECT_TRUE(good);
  int fixture_failures = 0;
  for (const auto& f : doc.at("failures").as_array()) {
    std::string path(f.as_object().at("path").as_string());
    if (path.starts_with(VOIDBOX_PLUGIN_FIXTURE_DIR)) ++fixture_failures;
    EXPECT_FALSE(f.as_object().at("reason").as_string().empty());
  }
  EXPECT_EQ(fixture_failures, 15);
}

TEST(PluginsListCli, KindFilterAndUsageErrors) {
  CommandResult backends = run(kWithFixtures + " plugins list --kind backend");
  ASSERT_EQ(backends.status, 0) << backends.output;
  EXPECT_NE(backends.output.find("fixture-null"), std::string::npos);
  EXPECT_FALSE(std::regex_search(backends.output, std::regex("\nexporter +"))) << backends.output;
  EXPECT_EQ(run(std::string(VOIDBOX_CLI) + " plugins list --kind gadget").status, 2);
  EXPECT_EQ(run(std::string(VOIDBOX_CLI) + " plugins frobnicate").status, 2);
  EXPECT_EQ(run(std::string(VOIDBOX_CLI) + " plugins").status, 2);
  EXPECT_EQ(run(std::string(VOIDBOX_CLI) + " --bogus plugins list").status, 2);
  EXPECT_EQ(run(std::string(VOIDBOX_CLI) + " --no-banner plugins list").status, 0);
  EXPECT_EQ(run(std::string(VOIDBOX_CLI) + " --log-level loud plugins list").status, 2);
}

TEST(PluginsListCli, TestExporterDrivesAnExporterPlugin) {
  CommandResult ok =
      run(kWithFixtures + " plugins test-exporter fixture-echo --record '{\"a\":1}'");
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("exported 1 record(s) through fixture-echo"), std::string::npos);
  CommandResult refused =
      run(kWithFixtures + " plugins test-exporter fixture-echo --config nope --record {}");
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.output.find("config must be a JSON object"), std::string::npos)
      << refused.output;
}

TEST(PluginsListCli, LoaderWarningsGoToTheLogAsJsonLines) {
  // `plugins list` prints failures itself; other verbs log them. Only stderr
  // reaches the pipe: one JSON log line per skipped file.
  CommandResult r = run(kWithFixtures +
                            " --output json --log-level warn plugins test-exporter fixture-echo "
                            "--record {}",
                        "2>&1 >/dev/null");
  int lines = 0;
  std::size_t start = 0;
  while (start < r.output.size()) {
    std::size_t end = r.output.find('\n', start);
    std::string line = r.output.substr(start, end - start);
    start = end == std::string::npos ? r.output.size() : end + 1;
    if (line.empty()) continue;
    auto record = boost::json::parse(line).as_object();
    EXPECT_EQ(record.at("level").as_string(), "warn");
    ++lines;
  }
  EXPECT_EQ(lines, 15) << r.output;
}

// Every plugin the build produced loads: listed with kind, name, version,
// ABI and path, and none of them appears among the failures.
TEST(PluginsListCli, EveryInTreePluginLoads) {
  CommandResult r =
      run("env -u VOIDBOX_PLUGIN_PATH " + std::string(VOIDBOX_CLI) + " --output json plugins list",
          "2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  auto doc = boost::json::parse(r.output).as_object();
  std::map<std::string, boost::json::object> by_path;
  for (const auto& p : doc.at("plugins").as_array()) {
    by_path[std::string(p.as_object().at("path").as_string())] = p.as_object();
  }
  EXPECT_TRUE(doc.at("failures").as_array().empty()) << r.output;
  // The build's own list of plugin files: none may be missing, and the CLI
  // lists exactly these.
  std::vector<std::string> expected;
  const std::string csv = VOIDBOX_IN_TREE_PLUGINS;
  for (std::size_t start = 0; start <= csv.size();) {
    const std::size_t comma = std::min(csv.find(',', start), csv.size());
    if (comma > start) expected.push_back(csv.substr(start, comma - start));
    start = comma + 1;
  }
  ASSERT_FALSE(expected.empty()) << "the build reports no in-tree plugins";
  for (const std::string& file : expected) {
    const std::string path = std::string(VOIDBOX_PLUGIN_BUILD_DIR) + "/" + file;
    ASSERT_TRUE(by_path.contains(path)) << path << " not listed\n" << r.output;
    const auto& plugin = by_path[path];
    EXPECT_FALSE(plugin.at("name").as_string().empty());
    EXPECT_FALSE(plugin.at("version").as_string().empty());
    EXPECT_EQ(plugin.at("abi").as_string(),
              std::to_string(VOIDBOX_ABI_MAJOR) + "." + std::to_string(VOIDBOX_ABI_MINOR));
    EXPECT_FALSE(plugin.at("factories").as_array().empty()) << path;
  }
  EXPECT_EQ(expected.size(), by_path.size()) << r.output;
  // The human table has the same rows.
  CommandResult table =
      run("env -u VOIDBOX_PLUGIN_PATH " + std::string(VOIDBOX_CLI) + " plugins list");
  for (const auto& [path, plugin] : by_path) {
    EXPECT_NE(table.output.find(path), std::string::npos) << table.output;
  }
}

}  // namespace
