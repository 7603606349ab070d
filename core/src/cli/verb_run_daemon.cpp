// g++ 12 reports a false -Wnull-dereference inside Boost.Program_options'
// variable_value::as<std::string> once inlined here.
#pragma GCC diagnostic ignored "-Wnull-dereference"

// `voidbox run --daemon --file F`: submits the spec to the daemon, follows
// its events, and exits with the run's status.
#include "cli/verb_run_daemon.hpp"

#include <boost/json.hpp>
#include <filesystem>

#include "cli/daemon_address.hpp"
#include "cli/daemon_follow.hpp"

namespace voidbox::cli {
namespace json = boost::json;

int run_on_daemon(VerbContext& ctx, const boost::program_options::variables_map& vm,
                  const std::string& file, const std::optional<std::string>& input) {
  auto client = daemon_client(vm);
  if (!client) {
    ctx.err << "voidbox run: " << client.error() << "\n";
    return kExitFailure;
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(file, ec);
  json::object body{{"file", ec ? file : absolute.string()}};
  if (input) body["input"] = *input;
  if (vm.count("run-id")) body["run_id"] = vm["run-id"].as<std::string>();
  auto r = (*client)->request("POST", "/v1/runs", json::serialize(body));
  if (!r) {
    ctx.err << "voidbox run: " << r.error() << "\n";
    return kExitFailure;
  }
  if (r->status != 200) {
    ctx.err << "voidbox run: the daemon refused the run: " << error_message(*r) << "\n";
    return kExitFailure;
  }
  boost::system::error_code jec;
  auto v = json::parse(r->body, jec);
  if (jec || !v.is_object() || !v.as_object().contains("run_id") ||
      !v.as_object().at("run_id").is_string()) {
    ctx.err << "voidbox run: unexpected answer from the daemon: " << r->body << "\n";
    return kExitFailure;
  }
  const std::string run_id(v.as_object().at("run_id").as_string());
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << json::serialize(json::object{{"event", "submitted"}, {"run_id", run_id}}) << "\n";
  } else {
    ctx.err << "voidbox: submitted run " << run_id << "\n";
  }
  if (int rc = print_run_events(ctx, **client, run_id, true, true); rc != kExitOk) return rc;
  return run_exit_status(ctx, **client, run_id);
}

}  // namespace voidbox::cli
