// `voidbox inspect --file F`: the spec as it will run, defaults filled in and
// VOIDBOX_LLM_* overrides applied.
#include <boost/json.hpp>
#include <ostream>

#include "cli/spec_verb_common.hpp"

namespace voidbox::cli {

int run_inspect(VerbContext& ctx) {
  SpecVerbArgs args;
  if (auto stop = parse_spec_verb_args(
          ctx,
          "Validates a spec and prints the resolved configuration: defaults filled in, "
          "VOIDBOX_LLM_PROVIDER/MODEL/BASE_URL/API_KEY_ENV applied.",
          args)) {
    return *stop;
  }
  auto loaded = spec::load_spec_file(args.file);
  if (!loaded) {
    print_diagnostics(ctx.err, loaded.error());
    ctx.err << args.file << ": invalid (" << count_diagnostics(loaded.error()) << ")\n";
    return kExitFailure;
  }
  print_diagnostics(ctx.err, loaded->warnings);
  const auto overrides = spec::apply_env_overrides(loaded->spec);

  if (args.output == OutputFormat::json) {
    boost::json::array applied;
    for (const auto& o : overrides) {
      applied.push_back(
          {{"variable", o.variable}, {"field_path", o.field_path}, {"value", o.value}});
    }
    boost::json::object result{
        {"file", args.file},
        {"env_overrides", std::move(applied)},
        {"warnings", boost::json::parse(spec::diagnostics_to_json(loaded->warnings))},
        {"spec", boost::json::parse(spec::spec_to_json(loaded->spec))}};
    ctx.out << boost::json::serialize(result) << "\n";
    return kExitOk;
  }

  ctx.out << "# " << args.file << " (" << spec::spec_summary(loaded->spec) << ")\n";
  for (const auto& o : overrides) {
    ctx.out << "# " << o.field_path << " = " << o.value << " (from " << o.variable << ")\n";
  }
  ctx.out << spec::spec_to_yaml(loaded->spec);
  return kExitOk;
}

}  // namespace voidbox::cli
