#include "cli/cli_config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace voidbox::cli {
namespace {

struct PathKey {
  const char* key;
  std::optional<std::string> CliConfig::*field;
  const char* env;
};

constexpr PathKey kPathKeys[] = {
    {"state_dir", &CliConfig::state_dir, "VOIDBOX_STATE_DIR"},
    {"log_dir", &CliConfig::log_dir, "VOIDBOX_LOG_DIR"},
    {"snapshot_dir", &CliConfig::snapshot_dir, "VOIDBOX_SNAPSHOT_DIR"},
    {"kernel", &CliConfig::kernel, "VOIDBOX_KERNEL"},
    {"initramfs", &CliConfig::initramfs, "VOIDBOX_INITRAMFS"},
};

std::string scalar(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) throw ConfigError(where + ": must be a string");
  return node.as<std::string>();
}

void apply_file(CliConfig& config, const ConfigFile& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.path.string());
  } catch (const YAML::Exception& e) {
    throw ConfigError(file.path.string() + ": " + e.what());
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError(file.path.string() + ": the top level must be a mapping");
  const std::string src = file.path.string();
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = src + ": " + key;
    if (key == "log_level") {
      config.log_level = scalar(entry.second, where);
      config.source["log_level"] = src;
    } else if (key == "daemon_url") {
      config.daemon_url = scalar(entry.second, where);
      config.source["daemon_url"] = src;
    } else if (key == "banner") {
      try {
        config.banner = entry.second.as<bool>();
      } catch (const YAML::Exception&) {
        throw ConfigError(where + ": must be true or false");
      }
      config.source["banner"] = src;
    } else if (key == "paths") {
      if (entry.second.IsNull()) continue;
      if (!entry.second.IsMap()) throw ConfigError(where + ": must be a mapping");
      for (const auto& p : entry.second) {
        const std::string name = p.first.as<std::string>();
        bool known = false;
        for (const auto& k : kPathKeys) {
          if (name == k.key) {
            config.*(k.field) = scalar(p.second, where + "." + name);
            config.source[std::string("paths.") + k.key] = src;
            known = true;
          }
        }
        if (!known) {
          throw ConfigError(where + "." + name +
                            ": unknown key (known: state_dir, log_dir, snapshot_dir, kernel, "
                            "initramfs)");
        }
      }
    } else {
      throw ConfigError(where + ": unknown key (known: log_level, daemon_url, banner, paths)");
    }
  }
}

std::filesystem::path home_of(const ConfigEnv& env) {
  return env("HOME").value_or("/");
}

}  // namespace

ConfigEnv process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

std::filesystem::path user_config_path(const ConfigEnv& env) {
  if (auto xdg = env("XDG_CONFIG_HOME"))
    return std::filesystem::path(*xdg) / "voidbox" / "config.yaml";
  return home_of(env) / ".config" / "voidbox" / "config.yaml";
}

std::vector<ConfigFile> config_files(const ConfigEnv& env) {
  std::vector<ConfigFile> files = {{"system", "/etc/voidbox/config.yaml", false},
                                   {"user", user_config_path(env), false}};
  if (auto overlay = env("VOIDBOX_CONFIG")) files.push_back({"VOIDBOX_CONFIG", *overlay, false});
  for (auto& f : files) {
    std::error_code ec;
    f.present = std::filesystem::is_regular_file(f.path, ec);
  }
  return files;
}

CliConfig load_config(const ConfigEnv& env) {
  CliConfig config;
  for (const char* key : {"log_level", "daemon_url", "banner", "paths.state_dir", "paths.log_dir",
                          "paths.snapshot_dir", "paths.kernel", "paths.initramfs"}) {
    config.source[key] = "default";
  }
  for (const auto& file : config_files(env)) {
    if (file.present) {
      apply_file(config, file);
    } else if (file.role == "VOIDBOX_CONFIG") {
      throw ConfigError(file.path.string() + ": VOIDBOX_CONFIG names a file that does not exist");
    }
  }
  if (auto v = env("VOIDBOX_LOG_LEVEL")) {
    config.log_level = *v;
    config.source["log_level"] = "VOIDBOX_LOG_LEVEL";
  }
  if (auto v = env("VOIDBOX_DAEMON_URL")) {
    config.daemon_url = *v;
    config.source["daemon_url"] = "VOIDBOX_DAEMON_URL";
  }
  for (const auto& k : kPathKeys) {
    if (auto v = env(k.env)) {
      config.*(k.field) = *v;
      config.source[std::string("paths.") + k.key] = k.env;
    }
  }
  return config;
}

CliConfig load_config() {
  return load_config(process_env());
}

std::filesystem::path state_dir_of(const CliConfig& config, const ConfigEnv& env) {
  if (config.state_dir) return *config.state_dir;
  if (auto home = env("VOIDBOX_HOME")) return *home;
  if (auto xdg = env("XDG_STATE_HOME")) return std::filesystem::path(*xdg) / "voidbox";
  return home_of(env) / ".local" / "state" / "voidbox";
}

std::string config_template() {
  return "# VoidBox CLI configuration. Precedence, highest first: command-line flags,\n"
         "# VOIDBOX_* variables, the file VOIDBOX_CONFIG names, this file,\n"
         "# /etc/voidbox/config.yaml, the defaults shown here.\n"
         "log_level: info          # trace, debug, info, warn, error\n"
         "# daemon_url: unix:///run/user/1000/voidbox.sock   # or tcp://HOST:PORT\n"
         "banner: false\n"
         "paths:\n"
         "  # state_dir: ~/.local/state/voidbox   # the daemon's run store\n"
         "  # log_dir: /var/log/voidbox\n"
         "  # snapshot_dir: ~/.local/state/voidbox/snapshots\n"
         "  # kernel: /path/to/vmlinuz\n"
         "  # initramfs: /path/to/initramfs.cpio.gz\n";
}

}  // namespace voidbox::cli
