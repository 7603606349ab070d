// The CLI's configuration, merged with the original's precedence: flags
// (applied by each verb) > VOIDBOX_* variables > the VOIDBOX_CONFIG file >
// the XDG user file (~/.config/voidbox/config.yaml) > /etc/voidbox/config.yaml
// > defaults. Keys: log_level, daemon_url, banner,
// paths.{state_dir,log_dir,snapshot_dir,kernel,initramfs}.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace voidbox::cli {

struct CliConfig {
  std::string log_level = "info";
  std::optional<std::string> daemon_url;
  bool banner = false;
  std::optional<std::string> state_dir;
  std::optional<std::string> log_dir;
  std::optional<std::string> snapshot_dir;
  std::optional<std::string> kernel;
  std::optional<std::string> initramfs;
  // Key ("paths.state_dir") -> where its value came from ("default",
  // "/etc/voidbox/config.yaml", "VOIDBOX_STATE_DIR", ...).
  std::map<std::string, std::string> source;
};

struct ConfigFile {
  std::string role;  // system, user, VOIDBOX_CONFIG
  std::filesystem::path path;
  bool present = false;
};

using ConfigEnv = std::function<std::optional<std::string>(const std::string&)>;

// Thrown with "FILE: key: why" for a file that is unreadable, not YAML, or
// has an unknown key or a value of the wrong type.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The files consulted, lowest precedence first.
std::vector<ConfigFile> config_files(const ConfigEnv& env);
CliConfig load_config(const ConfigEnv& env);
CliConfig load_config();  // the process environment

// The user file `config init` writes: $XDG_CONFIG_HOME/voidbox/config.yaml.
std::filesystem::path user_config_path(const ConfigEnv& env);
// A commented template with every key at its default.
std::string config_template();

// The state directory: the config's paths.state_dir, else $VOIDBOX_HOME,
// else $XDG_STATE_HOME/voidbox, else ~/.local/state/voidbox.
std::filesystem::path state_dir_of(const CliConfig& config, const ConfigEnv& env);

ConfigEnv process_env();

}  // namespace voidbox::cli
