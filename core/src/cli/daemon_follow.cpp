#include "cli/daemon_follow.hpp"

#include <boost/json.hpp>
#include <ostream>

#include "cli/daemon_address.hpp"

namespace voidbox::cli {
namespace json = boost::json;

namespace {

void render(VerbContext& ctx, const json::object& e, bool output_only_at_end) {
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << json::serialize(e) << "\n" << std::flush;
    return;
  }
  const std::string type =
      e.at("event_type").is_string() ? std::string(e.at("event_type").as_string()) : "";
  const std::string message =
      e.at("message").is_string() ? std::string(e.at("message").as_string()) : "";
  const auto& stream = e.at("stream");
  if (type == "log.chunk" && stream.is_string() && stream.as_string() == "stdout") {
    if (!output_only_at_end) ctx.out << message << std::flush;
  } else if (type == "log.chunk" && stream.is_string() && stream.as_string() == "stderr") {
    ctx.err << message << std::flush;
  } else if (type != "log.closed" && type != "stage.queued") {
    ctx.err << "voidbox: [" << type << "] " << message << "\n" << std::flush;
  }
}

}  // namespace

int print_run_events(VerbContext& ctx, daemon::DaemonClient& client, const std::string& run_id,
                     bool follow, bool output_only_at_end) {
  const std::string target = "/v1/runs/" + run_id + "/events";
  if (!follow) {
    auto r = client.request("GET", target);
    if (!r) {
      ctx.err << "voidbox " << ctx.verb << ": " << r.error() << "\n";
      return kExitFailure;
    }
    if (r->status != 200) {
      ctx.err << "voidbox " << ctx.verb << ": " << error_message(*r) << "\n";
      return kExitFailure;
    }
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (ec || !v.is_array()) {
      ctx.err << "voidbox " << ctx.verb << ": the daemon's events are not a JSON array\n";
      return kExitFailure;
    }
    for (const auto& e : v.as_array()) {
      if (e.is_object()) render(ctx, e.as_object(), output_only_at_end);
    }
    return kExitOk;
  }
  std::string bad;
  auto status =
      client.stream(target, [&](const std::string&, const std::string&, const std::string& data) {
        boost::system::error_code ec;
        auto v = json::parse(data, ec);
        if (ec || !v.is_object()) {
          bad = "an event that is not a JSON object: " + data;
          return false;
        }
        render(ctx, v.as_object(), output_only_at_end);
        return true;
      });
  if (!status) {
    ctx.err << "voidbox " << ctx.verb << ": " << status.error() << "\n";
    return kExitFailure;
  }
  if (*status != 200) {
    ctx.err << "voidbox " << ctx.verb << ": the daemon answered " << *status << " for " << run_id
            << "\n";
    return kExitFailure;
  }
  if (!bad.empty()) {
    ctx.err << "voidbox " << ctx.verb << ": " << bad << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int run_exit_status(VerbContext& ctx, daemon::DaemonClient& client, const std::string& run_id) {
  auto r = client.request("GET", "/v1/runs/" + run_id);
  if (!r || r->status != 200) {
    ctx.err << "voidbox " << ctx.verb
            << ": cannot read the run's final state: " << (r ? error_message(*r) : r.error())
            << "\n";
    return kExitFailure;
  }
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return kExitFailure;
  const auto& o = v.as_object();
  const std::string status =
      o.at("status").is_string() ? std::string(o.at("status").as_string()) : "";
  if (ctx.global.output == OutputFormat::human && o.at("report").is_object()) {
    const auto& output = o.at("report").as_object().at("output");
    if (output.is_string()) ctx.out << output.as_string().c_str() << std::flush;
  }
  if (status == "succeeded") return kExitOk;
  if (status == "cancelled") return 130;
  if (o.at("error").is_string())
    ctx.err << "voidbox " << ctx.verb << ": " << o.at("error").as_string().c_str() << "\n";
  if (o.at("exit_code").is_int64() && o.at("exit_code").as_int64() > 0 &&
      o.at("exit_code").as_int64() < 256) {
    return static_cast<int>(o.at("exit_code").as_int64());
  }
  return kExitFailure;
}

}  // namespace voidbox::cli
