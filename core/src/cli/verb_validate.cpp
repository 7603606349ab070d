// `voidbox validate --file F`: parse and check a spec, report every problem.
#include <boost/json.hpp>
#include <ostream>

#include "cli/spec_verb_common.hpp"

namespace voidbox::cli {

int run_validate(VerbContext& ctx) {
  SpecVerbArgs args;
  if (auto stop = parse_spec_verb_args(
          ctx, "Parses a spec and checks every rule; prints all errors with file:line:column.",
          args)) {
    return *stop;
  }
  auto loaded = spec::load_spec_file(args.file);
  const spec::Diagnostics& diagnostics = loaded ? loaded->warnings : loaded.error();

  if (args.output == OutputFormat::json) {
    boost::json::object result{{"file", args.file}, {"valid", loaded.has_value()}};
    result["summary"] =
        loaded ? boost::json::value(spec::spec_summary(loaded->spec)) : boost::json::value(nullptr);
    result["diagnostics"] = boost::json::parse(spec::diagnostics_to_json(diagnostics));
    ctx.out << boost::json::serialize(result) << "\n";
    return loaded ? kExitOk : kExitFailure;
  }

  print_diagnostics(ctx.err, diagnostics);
  if (!loaded) {
    ctx.err << args.file << ": invalid (" << count_diagnostics(diagnostics) << ")\n";
    return kExitFailure;
  }
  ctx.out << args.file << ": ok (" << spec::spec_summary(loaded->spec) << ")\n";
  return kExitOk;
}

}  // namespace voidbox::cli
