// `voidbox status [RUN_ID]`: one run's state from the daemon, or every run.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <boost/json.hpp>
#include <boost/program_options.hpp>

#include "cli/daemon_address.hpp"
#include "cli/verb.hpp"
#include "cli/verb_options.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr const char* kUsage =
    "usage: voidbox [--output human|json] status [RUN_ID] [--state active|terminal]\n"
    "                                           [--daemon-socket PATH | --daemon-url URL]\n\n"
    "Shows a run's state (GET /v1/runs/RUN_ID) from the daemon (`voidbox serve`), or with no\n"
    "RUN_ID every run (GET /v1/runs). --output json prints the daemon's JSON as is.\n"
    "Exit status: 0, 1 if the daemon cannot be reached or answers with an error.\n";

std::string text_of(const json::value& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

}  // namespace

int run_status(VerbContext& ctx) {
  po::options_description options("Options");
  options.add_options()("run-id", po::value<std::string>(), "the run (also positional)")(
      "state", po::value<std::string>(), "with no RUN_ID: list only active or terminal runs");
  add_daemon_options(options);
  po::positional_options_description positional;
  positional.add("run-id", 1);
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, ctx.args, kUsage, options, positional, vm)) return *stop;
  auto client = daemon_client(vm);
  if (!client) {
    ctx.err << "voidbox status: " << client.error() << "\n";
    return kExitFailure;
  }
  std::string target = "/v1/runs";
  if (vm.count("run-id")) {
    target += "/" + vm["run-id"].as<std::string>();
  } else if (vm.count("state")) {
    target += "?state=" + vm["state"].as<std::string>();
  }
  auto r = (*client)->request("GET", target);
  if (!r) {
    ctx.err << "voidbox status: " << r.error() << "\n";
    return kExitFailure;
  }
  if (r->status != 200) {
    ctx.err << "voidbox status: " << error_message(*r) << "\n";
    return kExitFailure;
  }
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << r->body << "\n";
    return kExitOk;
  }
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object()) {
    ctx.err << "voidbox status: the daemon answered with something that is not JSON\n";
    return kExitFailure;
  }
  const auto& o = v.as_object();
  if (vm.count("run-id")) {
    ctx.out << "run:        " << text_of(o.at("id")) << "\n"
            << "status:     " << text_of(o.at("status")) << "\n"
            << "file:       " << text_of(o.at("file")) << "\n"
            << "started:    " << text_of(o.at("started_at")) << "\n"
            << "finished:   " << text_of(o.at("finished_at")) << "\n"
            << "reason:     " << text_of(o.at("terminal_reason")) << "\n"
            << "exit code:  " << text_of(o.at("exit_code")) << "\n";
    if (!o.at("error").is_null()) ctx.out << "error:      " << text_of(o.at("error")) << "\n";
    for (const auto& [name, state] : o.at("stage_states").as_object()) {
      ctx.out << "  stage " << std::string(name) << ": " << text_of(state.as_object().at("status"))
              << "\n";
    }
    return kExitOk;
  }
  for (const auto& run : o.at("runs").as_array()) {
    const auto& r2 = run.as_object();
    ctx.out << text_of(r2.at("id")) << "\t" << text_of(r2.at("status")) << "\t"
            << text_of(r2.at("file")) << "\n";
  }
  return kExitOk;
}

}  // namespace voidbox::cli
