// `voidbox config init|validate`: write the user config template, or check
// every config file and show the merged configuration and where each value
// came from.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>

#include "cli/cli_config.hpp"
#include "cli/verb.hpp"
#include "cli/verb_options.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr const char* kUsage =
    "usage: voidbox [--output human|json] config init [--force] [--path FILE]\n"
    "       voidbox [--output human|json] config validate\n\n"
    "init writes a commented template to $XDG_CONFIG_HOME/voidbox/config.yaml (default\n"
    "~/.config/voidbox/config.yaml); it never overwrites a file without --force.\n"
    "validate reads /etc/voidbox/config.yaml, the user file and the file VOIDBOX_CONFIG names,\n"
    "applies the VOIDBOX_* variables, and prints the merged configuration with the source of\n"
    "each value; an unknown key or a wrong type is an error naming the file and key.\n"
    "Precedence, highest first: flags, VOIDBOX_* variables, VOIDBOX_CONFIG, the user file,\n"
    "/etc/voidbox/config.yaml, defaults.\n";

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

int init(VerbContext& ctx, const po::variables_map& vm) {
  const std::filesystem::path path = vm.count("path")
                                         ? std::filesystem::path(vm["path"].as<std::string>())
                                         : user_config_path(process_env());
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !vm.count("force")) {
    ctx.err << "voidbox config init: " << path.string()
            << " exists; pass --force to overwrite it\n";
    return kExitFailure;
  }
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::trunc);
  out << config_template();
  out.close();
  if (!out) {
    ctx.err << "voidbox config init: cannot write " << path.string() << "\n";
    return kExitFailure;
  }
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << json::serialize(json::object{{"written", path.string()}}) << "\n";
  } else {
    ctx.out << "wrote " << path.string() << "\n";
  }
  return kExitOk;
}

int validate(VerbContext& ctx) {
  auto env = process_env();
  CliConfig config;
  try {
    config = load_config(env);
  } catch (const ConfigError& e) {
    ctx.err << "voidbox config validate: " << e.what() << "\n";
    return kExitFailure;
  }
  json::array files;
  for (const auto& f : config_files(env)) {
    files.push_back(
        json::object{{"role", f.role}, {"path", f.path.string()}, {"present", f.present}});
  }
  json::object merged{{"log_level", config.log_level},
                      {"daemon_url", opt(config.daemon_url)},
                      {"banner", config.banner},
                      {"paths", json::object{{"state_dir", opt(config.state_dir)},
                                             {"log_dir", opt(config.log_dir)},
                                             {"snapshot_dir", opt(config.snapshot_dir)},
                                             {"kernel", opt(config.kernel)},
                                             {"initramfs", opt(config.initramfs)}}}};
  json::object sources;
  for (const auto& [key, src] : config.source) sources[key] = src;
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << json::serialize(json::object{{"valid", true},
                                            {"files", files},
                                            {"config", merged},
                                            {"sources", sources},
                                            {"state_dir", state_dir_of(config, env).string()}})
            << "\n";
    return kExitOk;
  }
  ctx.out << "configuration is valid\nfiles (lowest precedence first):\n";
  for (const auto& f : config_files(env)) {
    ctx.out << "  " << f.role << ": " << f.path.string() << (f.present ? "" : " (absent)") << "\n";
  }
  auto line = [&](const std::string& key, const std::string& value) {
    ctx.out << "  " << key << " = " << value << "   (" << config.source[key] << ")\n";
  };
  ctx.out << "merged:\n";
  line("log_level", config.log_level);
  line("daemon_url", config.daemon_url.value_or("(default socket)"));
  line("banner", config.banner ? "true" : "false");
  line("paths.state_dir", config.state_dir.value_or(state_dir_of(config, env).string()));
  line("paths.log_dir", config.log_dir.value_or("(stderr)"));
  line("paths.snapshot_dir", config.snapshot_dir.value_or("(unset)"));
  line("paths.kernel", config.kernel.value_or("(usual lookup)"));
  line("paths.initramfs", config.initramfs.value_or("(usual lookup)"));
  return kExitOk;
}

}  // namespace

int run_config(VerbContext& ctx) {
  po::options_description options("Options");
  options.add_options()("action", po::value<std::string>(), "init or validate")(
      "force", "init: overwrite an existing file")("path", po::value<std::string>(),
                                                   "init: write here instead");
  po::positional_options_description positional;
  positional.add("action", 1);
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, ctx.args, kUsage, options, positional, vm)) return *stop;
  const std::string action = vm.count("action") ? vm["action"].as<std::string>() : "";
  if (action == "init") return init(ctx, vm);
  if (action == "validate") return validate(ctx);
  ctx.err << "voidbox config: expected init or validate\n" << kUsage;
  return kExitUsage;
}

}  // namespace voidbox::cli
