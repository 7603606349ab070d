// `voidbox cancel RUN_ID`: asks the daemon to cancel a run.
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
    "usage: voidbox [--output human|json] cancel RUN_ID [--reason TEXT]\n"
    "                                           [--daemon-socket PATH | --daemon-url URL]\n\n"
    "Cancels a run on the daemon (POST /v1/runs/RUN_ID/cancel): a queued run never starts, a\n"
    "running one has its commands killed. Cancelling a finished run changes nothing.\n"
    "Prints the run's state afterwards.\n";

}  // namespace

int run_cancel(VerbContext& ctx) {
  po::options_description options("Options");
  options.add_options()("run-id", po::value<std::string>()->required(),
                        "the run (also positional)")("reason", po::value<std::string>(),
                                                     "recorded as the run's terminal_reason");
  add_daemon_options(options);
  po::positional_options_description positional;
  positional.add("run-id", 1);
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, ctx.args, kUsage, options, positional, vm)) return *stop;
  auto client = daemon_client(vm);
  if (!client) {
    ctx.err << "voidbox cancel: " << client.error() << "\n";
    return kExitFailure;
  }
  json::object body;
  if (vm.count("reason")) body["reason"] = vm["reason"].as<std::string>();
  auto r = (*client)->request("POST", "/v1/runs/" + vm["run-id"].as<std::string>() + "/cancel",
                              json::serialize(body));
  if (!r) {
    ctx.err << "voidbox cancel: " << r.error() << "\n";
    return kExitFailure;
  }
  if (r->status != 200) {
    ctx.err << "voidbox cancel: " << error_message(*r) << "\n";
    return kExitFailure;
  }
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << r->body << "\n";
    return kExitOk;
  }
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object() || !v.as_object().at("state").is_string()) {
    ctx.err << "voidbox cancel: unexpected answer: " << r->body << "\n";
    return kExitFailure;
  }
  ctx.out << vm["run-id"].as<std::string>() << ": " << v.as_object().at("state").as_string().c_str()
          << "\n";
  return kExitOk;
}

}  // namespace voidbox::cli
