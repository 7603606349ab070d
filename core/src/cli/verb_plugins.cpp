// `voidbox plugins list`: what plugins were found, what they provide, and
// which failed to load and why. `voidbox plugins test-exporter` is a
// diagnostic that pushes one record through an exporter plugin.
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <iomanip>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/verb.hpp"
#include "cli/verb_options.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;
using plugin::Registry;

std::string abi_text(const plugin::PluginInfo& p) {
  return std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out << row[i];
      if (i + 1 < row.size()) out << std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << "\n";
  }
}

int list(VerbContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "usage: voidbox plugins list [--kind KIND]\n";
  po::options_description options("Options");
  std::string kind_filter;
  options.add_options()("kind", po::value<std::string>(&kind_filter),
                        "only factories of this kind (backend, device, transport, skill, "
                        "exporter, image-source)");
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, args, usage, options, {}, vm)) return *stop;
  std::optional<vb_kind> only;
  if (!kind_filter.empty()) {
    only = plugin::parse_kind(kind_filter);
    if (!only) {
      ctx.err << "voidbox plugins list: unknown kind '" << kind_filter << "'\n" << usage;
      return kExitUsage;
    }
  }

  const auto dirs = plugin::default_search_dirs();
  Registry registry(/*log_failures=*/false);
  for (const auto& dir : dirs) registry.load_directory(dir.path);
  const auto plugins = registry.plugins();

  if (ctx.global.output == OutputFormat::json) {
    boost::json::array plugin_list;
    for (const auto& p : plugins) {
      boost::json::array factories;
      for (const auto& f : p.factories) {
        if (only && f.kind != *only) continue;
        factories.push_back({{"kind", plugin::kind_name(f.kind)}, {"name", f.name}});
      }
      if (only && factories.empty()) continue;
      plugin_list.push_back({{"name", p.name},
                             {"version", p.version},
                             {"description", p.description},
                             {"abi", abi_text(p)},
                             {"path", p.path.string()},
                             {"factories", std::move(factories)}});
    }
    boost::json::array failures;
    for (const auto& f : registry.failures()) {
      failures.push_back({{"path", f.path.string()}, {"reason", f.reason}});
    }
    boost::json::array searched;
    for (const auto& d : dirs)
      searched.push_back({{"path", d.path.string()}, {"origin", d.origin}});
    boost::json::object result{{"plugins", std::move(plugin_list)},
                               {"failures", std::move(failures)},
                               {"search_path", std::move(searched)}};
    ctx.out << boost::json::serialize(result) << "\n";
    return kExitOk;
  }

  std::vector<std::vector<std::string>> rows{{"KIND", "NAME", "PLUGIN", "VERSION", "ABI", "PATH"}};
  for (const auto& p : plugins) {
    bool listed = false;
    for (const auto& f : p.factories) {
      if (only && f.kind != *only) continue;
      rows.push_back({std::string(plugin::kind_name(f.kind)), f.name, p.name, p.version,
                      abi_text(p), p.path.string()});
      listed = true;
    }
    if (!listed && !only)
      rows.push_back({"-", "-", p.name, p.version, abi_text(p), p.path.string()});
  }
  if (rows.size() == 1) {
    ctx.out << "No plugins found.\n";
  } else {
    print_table(ctx.out, rows);
  }
  if (!registry.failures().empty()) {
    ctx.out << "\nFailed to load:\n";
    for (const auto& f : registry.failures()) {
      ctx.out << "  " << f.path.string() << ": " << f.reason << "\n";
    }
  }
  ctx.out << "\nSearched:";
  if (dirs.empty()) ctx.out << " (no directories)";
  for (const auto& d : dirs) ctx.out << "\n  " << d.path.string() << " (" << d.origin << ")";
  ctx.out << "\n";
  return kExitOk;
}

std::optional<vb_record_kind> parse_record_kind(const std::string& text) {
  if (text == "span") return VB_RECORD_SPAN;
  if (text == "metric") return VB_RECORD_METRIC;
  if (text == "log") return VB_RECORD_LOG;
  return std::nullopt;
}

// Diagnostic: load the registry as `run` would, create the named exporter
// with --config, export each --record, flush. Proves a plugin works end to end.
int test_exporter(VerbContext& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "usage: voidbox plugins test-exporter NAME [--config JSON] --record JSON... "
      "[--kind span|metric|log]\n";
  po::options_description options("Options");
  std::string name, config = "{}", kind_text = "log";
  std::vector<std::string> records;
  options.add_options()("name", po::value<std::string>(&name)->required(), "exporter name")(
      "config", po::value<std::string>(&config), "exporter config as a JSON object")(
      "record", po::value<std::vector<std::string>>(&records)->required(),
      "one record as a JSON object (repeatable)")("kind", po::value<std::string>(&kind_text),
                                                  "record kind (default log)");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, args, usage, options, positional, vm)) return *stop;
  auto kind = parse_record_kind(kind_text);
  if (!kind) {
    ctx.err << "voidbox plugins test-exporter: --kind must be span, metric or log\n";
    return kExitUsage;
  }

  Registry registry;
  registry.load_default();
  auto factory = registry.exporter(name);
  if (!factory) {
    ctx.err << "voidbox plugins test-exporter: " << factory.error().message << "\n";
    return kExitFailure;
  }
  auto exporter = factory->create(config);
  if (!exporter) {
    ctx.err << "voidbox plugins test-exporter: create " << name << ": " << exporter.error().message
            << "\n";
    return kExitFailure;
  }
  for (const auto& record : records) {
    if (auto sent = (*exporter)->export_record(*kind, record); !sent) {
      ctx.err << "voidbox plugins test-exporter: export: " << sent.error().message << "\n";
      return kExitFailure;
    }
  }
  if (auto flushed = (*exporter)->flush(); !flushed) {
    ctx.err << "voidbox plugins test-exporter: flush: " << flushed.error().message << "\n";
    return kExitFailure;
  }
  ctx.out << "exported " << records.size() << " record(s) through " << name << "\n";
  return kExitOk;
}

}  // namespace

int run_plugins(VerbContext& ctx) {
  const std::string usage =
      "usage: voidbox plugins <list|test-exporter> [options]\n"
      "  list            plugins found, what they provide, and load failures\n"
      "  test-exporter   diagnostic: send records through an exporter plugin\n";
  if (ctx.args.empty()) {
    ctx.err << usage;
    return kExitUsage;
  }
  const std::string sub = ctx.args.front();
  std::vector<std::string> rest(ctx.args.begin() + 1, ctx.args.end());
  if (sub == "--help" || sub == "-h") {
    ctx.out << usage;
    return kExitOk;
  }
  if (sub == "list") return list(ctx, rest);
  if (sub == "test-exporter") return test_exporter(ctx, rest);
  ctx.err << "voidbox plugins: unknown subcommand '" << sub << "'\n" << usage;
  return kExitUsage;
}

}  // namespace voidbox::cli
