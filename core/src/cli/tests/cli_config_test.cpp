// The CLI config's precedence: VOIDBOX_* variables > VOIDBOX_CONFIG >
// the XDG user file > /etc/voidbox/config.yaml > defaults; bad files are
// errors naming the file and key.
#include "cli/cli_config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>

namespace voidbox::cli {
namespace {

class Config : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "vbc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir = templ;
    vars["XDG_CONFIG_HOME"] = (dir / "xdg").string();
    vars["HOME"] = (dir / "home").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  ConfigEnv env() {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
  void write(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  std::filesystem::path dir;
  std::map<std::string, std::string> vars;
};

TEST_F(Config, DefaultsWhenNothingIsSet) {
  auto c = load_config(env());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_FALSE(c.daemon_url);
  EXPECT_EQ(c.source["log_level"], "default");
  EXPECT_EQ(state_dir_of(c, env()), dir / "home" / ".local" / "state" / "voidbox");
}

TEST_F(Config, EachLayerOverridesTheOneBelow) {
  // The system file is outside the test's reach; the user file and above
  // are layered here.
  write(user_config_path(env()),
        "log_level: debug\ndaemon_url: unix:///user.sock\npaths:\n  state_dir: /u\n");
  auto user = load_config(env());
  EXPECT_EQ(user.log_level, "debug");
  EXPECT_EQ(user.daemon_url, "unix:///user.sock");
  EXPECT_EQ(user.source["daemon_url"], user_config_path(env()).string());

  write(dir / "overlay.yaml", "daemon_url: tcp://127.0.0.1:9\n");
  vars["VOIDBOX_CONFIG"] = (dir / "overlay.yaml").string();
  auto overlay = load_config(env());
  EXPECT_EQ(overlay.daemon_url, "tcp://127.0.0.1:9");
  EXPECT_EQ(overlay.log_level, "debug");  // still from the user file
  EXPECT_EQ(overlay.state_dir, "/u");

  vars["VOIDBOX_DAEMON_URL"] = "unix:///env.sock";
  vars["VOIDBOX_STATE_DIR"] = "/from-env";
  auto top = load_config(env());
  EXPECT_EQ(top.daemon_url, "unix:///env.sock");
  EXPECT_EQ(top.source["daemon_url"], "VOIDBOX_DAEMON_URL");
  EXPECT_EQ(state_dir_of(top, env()), "/from-env");
}

TEST_F(Config, VoidboxHomeRelocatesTheStateDirectory) {
  vars["VOIDBOX_HOME"] = "/var/lib/voidbox";
  EXPECT_EQ(state_dir_of(load_config(env()), env()), "/var/lib/voidbox");
}

TEST_F(Config, UnknownKeysWrongTypesAndMissingOverlaysAreErrors) {
  write(user_config_path(env()), "log_levle: debug\n");
  try {
    load_config(env());
    FAIL() << "an unknown key was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("log_levle: unknown key"), std::string::npos) << e.what();
  }
  write(user_config_path(env()), "paths:\n  state_dir: [1, 2]\n");
  EXPECT_THROW(load_config(env()), ConfigError);
  write(user_config_path(env()), "banner: maybe\n");
  EXPECT_THROW(load_config(env()), ConfigError);
  write(user_config_path(env()), "paths:\n  kernal: /k\n");
  EXPECT_THROW(load_config(env()), ConfigError);
  std::filesystem::remove(user_config_path(env()));
  vars["VOIDBOX_CONFIG"] = (dir / "missing.yaml").string();
  EXPECT_THROW(load_config(env()), ConfigError);
}

TEST_F(Config, TheTemplateLoadsAsTheDefaults) {
  write(user_config_path(env()), config_template());
  auto c = load_config(env());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_FALSE(c.banner);
  EXPECT_FALSE(c.state_dir);
}

}  // namespace
}  // namespace voidbox::cli
