// `voidbox logs RUN_ID [--follow]`: a daemon run's events.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <boost/program_options.hpp>

#include "cli/daemon_address.hpp"
#include "cli/daemon_follow.hpp"
#include "cli/verb.hpp"
#include "cli/verb_options.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: voidbox [--output human|json] logs RUN_ID [--follow]\n"
    "                                         [--daemon-socket PATH | --daemon-url URL]\n\n"
    "Prints a daemon run's events (GET /v1/runs/RUN_ID/events): the steps' output as it was\n"
    "written, stdout to stdout and stderr to stderr, and every other event as one line on\n"
    "stderr. --follow keeps printing new events as the run records them (server-sent events)\n"
    "until the run ends. --output json prints one event object per line instead.\n";

}  // namespace

int run_logs(VerbContext& ctx) {
  po::options_description options("Options");
  options.add_options()("run-id", po::value<std::string>()->required(),
                        "the run (also positional)")("follow,f",
                                                     "keep printing events until the run ends");
  add_daemon_options(options);
  po::positional_options_description positional;
  positional.add("run-id", 1);
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, ctx.args, kUsage, options, positional, vm)) return *stop;
  auto client = daemon_client(vm);
  if (!client) {
    ctx.err << "voidbox logs: " << client.error() << "\n";
    return kExitFailure;
  }
  return print_run_events(ctx, **client, vm["run-id"].as<std::string>(), vm.count("follow") > 0);
}

}  // namespace voidbox::cli
