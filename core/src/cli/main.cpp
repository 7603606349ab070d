// `voidbox`: global options, then one verb.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/verb.hpp"
#include "voidbox/log.hpp"

namespace {

using voidbox::cli::GlobalOptions;
using voidbox::cli::kExitFailure;
using voidbox::cli::kExitUsage;

void print_usage(std::ostream& os) {
  os << "usage: voidbox [--log-level LEVEL] [--log-dir DIR] [--output human|json] [--no-banner]"
        " <verb> [args]\n\n"
        "Runs AI-agent work inside hardware-isolated micro-VMs.\n\nVerbs:\n";
  for (const auto& verb : voidbox::cli::all_verbs()) {
    os << "  " << verb.name << std::string(verb.name.size() < 14 ? 14 - verb.name.size() : 1, ' ')
       << verb.summary << "\n";
  }
  os << "\nGlobal options:\n"
        "  --log-level LEVEL   trace, debug, info, warn or error (env VOIDBOX_LOG_LEVEL)\n"
        "  --log-dir DIR       write logs to DIR/voidbox.log, rotated by size (env "
        "VOIDBOX_LOG_DIR)\n"
        "  --output FORMAT     human or json; json also makes log lines JSON\n"
        "  --no-banner         accepted for compatibility; VoidBox prints no banner\n"
        "\nRun `voidbox <verb> --help` for a verb's options.\n";
}

// Sets up logging from the global options; returns an exit code on failure.
std::optional<int> init_logging(const GlobalOptions& global) {
  auto level = voidbox::log::parse_level(global.log_level);
  if (!level) {
    std::cerr << "voidbox: log level must be trace, debug, info, warn or error, not '"
              << global.log_level << "'\n";
    return kExitUsage;
  }
  voidbox::log::Options options;
  options.level = *level;
  options.format = global.output == voidbox::cli::OutputFormat::json ? voidbox::log::Format::json
                                                                     : voidbox::log::Format::human;
  options.dir = global.log_dir;
  try {
    voidbox::log::init(options);
  } catch (const std::exception& e) {
    std::cerr << "voidbox: " << e.what() << "\n";
    return kExitFailure;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  GlobalOptions global;
  if (const char* env = std::getenv("VOIDBOX_LOG_LEVEL")) global.log_level = env;
  if (const char* env = std::getenv("VOIDBOX_LOG_DIR")) global.log_dir = env;

  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto value = [&](const std::string& flag) -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) {
        std::cerr << "voidbox: " << flag << " needs a value\n";
        std::exit(kExitUsage);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      return 0;
    } else if (arg == "--log-level") {
      global.log_level = value(arg);
    } else if (arg == "--log-dir") {
      global.log_dir = value(arg);
    } else if (arg == "--no-banner" && !inline_value) {
      // The original printed a banner; VoidBox never does.
    } else if (arg == "--output") {
      std::string format = value(arg);
      if (format == "json") {
        global.output = voidbox::cli::OutputFormat::json;
      } else if (format != "human") {
        std::cerr << "voidbox: --output must be human or json, not '" << format << "'\n";
        return kExitUsage;
      }
    } else if (arg.starts_with("-")) {
      std::cerr << "voidbox: unknown option '" << argv[i] << "'\n";
      print_usage(std::cerr);
      return kExitUsage;
    } else {
      break;
    }
  }
  if (i >= argc) {
    print_usage(std::cerr);
    return kExitUsage;
  }
  if (auto stop = init_logging(global)) return *stop;

  std::string name = argv[i++];
  int status = kExitUsage;
  bool found = false;
  for (const auto& verb : voidbox::cli::all_verbs()) {
    if (verb.name == name) {
      voidbox::cli::VerbContext ctx{
          global, verb.name, {argv + i, argv + argc}, std::cout, std::cerr};
      status = verb.run(ctx);
      found = true;
      break;
    }
  }
  if (!found) {
    std::cerr << "voidbox: unknown verb '" << name << "'\n";
    print_usage(std::cerr);
  }
  voidbox::log::flush();
  return status;
}
