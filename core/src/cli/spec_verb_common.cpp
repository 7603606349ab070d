#include "cli/spec_verb_common.hpp"

#include <boost/program_options.hpp>
#include <iostream>

namespace voidbox::cli {

namespace po = boost::program_options;

std::optional<int> parse_spec_verb_args(VerbContext& ctx, std::string_view description,
                                        SpecVerbArgs& args) {
  const std::string usage =
      "usage: voidbox " + std::string(ctx.verb) + " --file FILE [--output human|json]\n";
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("file,f", po::value<std::string>(),
                                                    "spec file (.yaml/.yml, else JSON)")(
      "output", po::value<std::string>(), "human or json (default: the global --output)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(ctx.args).options(options).run(), vm);
  } catch (const po::error& e) {
    ctx.err << "voidbox " << ctx.verb << ": " << e.what() << "\n" << usage;
    return kExitUsage;
  }
  if (vm.count("help")) {
    ctx.out << usage << "\n" << description << "\n\n" << options;
    return kExitOk;
  }
  // Read values through pointer any_cast: po::value<T>(&var) and as<T>()
  // trip g++ 12's -Wnull-dereference inside Boost.
  auto text = [&](const char* name) -> std::string {
    if (!vm.count(name)) return {};
    const std::string* value = boost::any_cast<std::string>(&vm[name].value());
    return value ? *value : std::string();
  };
  args.file = text("file");
  const std::string output = text("output");
  if (args.file.empty()) {
    ctx.err << "voidbox " << ctx.verb << ": --file is required\n" << usage;
    return kExitUsage;
  }
  args.output = ctx.global.output;
  if (output == "json") {
    args.output = OutputFormat::json;
  } else if (output == "human") {
    args.output = OutputFormat::human;
  } else if (!output.empty()) {
    ctx.err << "voidbox " << ctx.verb << ": --output must be human or json, not '" << output
            << "'\n";
    return kExitUsage;
  }
  return std::nullopt;
}

void print_diagnostics(std::ostream& err, const spec::Diagnostics& diagnostics) {
  for (const spec::Diagnostic& d : diagnostics) err << spec::format_diagnostic(d) << "\n";
}

std::string count_diagnostics(const spec::Diagnostics& diagnostics) {
  std::size_t errors = 0;
  std::size_t warnings = 0;
  for (const spec::Diagnostic& d : diagnostics) {
    (d.severity == spec::Severity::error ? errors : warnings) += 1;
  }
  std::string out = std::to_string(errors) + (errors == 1 ? " error" : " errors");
  if (warnings > 0)
    out += ", " + std::to_string(warnings) + (warnings == 1 ? " warning" : " warnings");
  return out;
}

}  // namespace voidbox::cli
