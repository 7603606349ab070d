#include "voidbox/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using voidbox::log::Format;
using voidbox::log::Level;

fs::path test_root() {
  return fs::temp_directory_path() / ("voidbox-log-test-" + std::to_string(::getpid()));
}

fs::path fresh_dir(const std::string& name) {
  fs::path dir = test_root() / name;
  fs::remove_all(dir);
  return dir;
}

// Removes the scratch directories once all tests ran.
class ScratchCleanup : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(test_root()); }
};
[[maybe_unused]] const auto* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

std::vector<std::string> read_lines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LogLevel, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(voidbox::log::parse_level("TRACE"), Level::trace);
  EXPECT_EQ(voidbox::log::parse_level("debug"), Level::debug);
  EXPECT_EQ(voidbox::log::parse_level("Info"), Level::info);
  EXPECT_EQ(voidbox::log::parse_level("warning"), Level::warn);
  EXPECT_EQ(voidbox::log::parse_level("warn"), Level::warn);
  EXPECT_EQ(voidbox::log::parse_level("error"), Level::error);
  EXPECT_FALSE(voidbox::log::parse_level("loud").has_value());
  EXPECT_EQ(voidbox::log::level_name(Level::warn), "warn");
}

TEST(LogFile, WritesJsonLinesAtOrAboveTheLevel) {
  fs::path dir = fresh_dir("json");
  voidbox::log::init({.level = Level::info, .format = Format::json, .dir = dir});
  EXPECT_FALSE(voidbox::log::enabled(Level::debug));
  EXPECT_TRUE(voidbox::log::enabled(Level::warn));
  VB_LOG(debug) << "hidden";
  VB_LOG_TO(warn, "images") << "quote \" and newline\n n=" << 42;
  voidbox::log::flush();

  auto lines = read_lines(dir / "voidbox.log");
  ASSERT_EQ(lines.size(), 1u);
  auto value = boost::json::parse(lines[0]).as_object();
  EXPECT_EQ(value.at("level").as_string(), "warn");
  EXPECT_EQ(value.at("component").as_string(), "images");
  EXPECT_EQ(value.at("msg").as_string(), "quote \" and newline\n n=42");
  EXPECT_TRUE(value.at("ts").as_string().ends_with("Z"));
  voidbox::log::init({});
}

TEST(LogFile, HumanFormatNamesLevelAndComponent) {
  fs::path dir = fresh_dir("human");
  voidbox::log::init({.level = Level::trace, .format = Format::human, .dir = dir});
  VB_LOG(trace) << "step " << 1;
  voidbox::log::flush();
  auto lines = read_lines(dir / "voidbox.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("TRACE [voidbox] step 1"), std::string::npos) << lines[0];
  voidbox::log::init({});
}

TEST(LogFile, RotatesBySizeAndKeepsTheActiveName) {
  fs::path dir = fresh_dir("rotate");
  voidbox::log::init({.level = Level::info,
                      .format = Format::human,
                      .dir = dir,
                      .rotate_bytes = 4096,
                      .keep_files = 3});
  const std::string filler(200, 'x');
  for (int i = 0; i < 200; ++i) VB_LOG(info) << i << ' ' << filler;
  voidbox::log::flush();
  voidbox::log::init({});  // closes the file sink

  int rotated = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name != "voidbox.log") {
      EXPECT_TRUE(name.starts_with("voidbox.")) << name;
      EXPECT_LE(entry.file_size(), 4096u + 512u) << name;
      ++rotated;
    }
  }
  EXPECT_TRUE(fs::exists(dir / "voidbox.log"));
  EXPECT_GE(rotated, 1);
  EXPECT_LE(rotated, 3);
}

TEST(LogFile, UncreatableDirectoryThrows) {
  EXPECT_THROW(voidbox::log::init({.dir = "/proc/voidbox-cannot-exist/x"}), std::runtime_error);
  voidbox::log::init({});
}

}  // namespace
