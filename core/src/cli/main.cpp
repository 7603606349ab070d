// `voidbox`: global options, then one verb.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/verb.hpp"

namespace {

using voidbox::cli::GlobalOptions;
using voidbox::cli::kExitUsage;

void print_usage(std::ostream& os) {
  os << "usage: voidbox [--log-level LEVEL] [--log-dir DIR] [--output human|json] <verb> [args]\n\n"
        "Runs AI-agent work inside hardware-isolated micro-VMs.\n\nVerbs:\n";
  for (const auto& verb : voidbox::cli::all_verbs()) {
    os << "  " << verb.name << std::string(verb.name.size() < 14 ? 14 - verb.name.size() : 1, ' ')
       << verb.summary << "\n";
  }
  os << "\nRun `voidbox <verb> --help` for a verb's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  GlobalOptions global;
  if (const char* env = std::getenv("VOIDBOX_LOG_LEVEL")) global.log_level = env;
  if (const char* env = std::getenv("VOIDBOX_LOG_DIR")) global.log_dir = env;

  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
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
    } else if (arg == "--output") {
      std::string format = value(arg);
      if (format == "json") {
        global.output = voidbox::cli::OutputFormat::json;
      } else if (format != "human") {
        std::cerr << "voidbox: --output must be human or json, not '" << format << "'\n";
        return kExitUsage;
      }
    } else if (arg.starts_with("-")) {
      std::cerr << "voidbox: unknown option '" << arg << "'\n";
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
  std::string name = argv[i++];
  for (const auto& verb : voidbox::cli::all_verbs()) {
    if (verb.name == name) {
      voidbox::cli::VerbContext ctx{global, verb.name, {argv + i, argv + argc}, std::cout,
                                    std::cerr};
      return verb.run(ctx);
    }
  }
  std::cerr << "voidbox: unknown verb '" << name << "'\n";
  print_usage(std::cerr);
  return kExitUsage;
}
