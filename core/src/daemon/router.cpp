#include "daemon/router.hpp"

#include <boost/json.hpp>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <vector>

#include "daemon/api_json.hpp"

namespace voidbox::daemon {
namespace json = boost::json;

namespace {

// Events a run's JSON carries at most; the events route has them all.
constexpr std::int64_t kRunEventLimit = 1000;

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(percent_decode(path.substr(i, j - i), false));
    i = j;
  }
  return parts;
}

template <class T>
ApiResult<T> stored(StoreResult<T> r) {
  if (!r) return std::unexpected(internal_error("run store: " + r.error()));
  return std::move(*r);
}

Response json_response(int status, const json::value& body) {
  return Response{status, "application/json", json::serialize(body)};
}

ApiResult<json::object> parse_body(const std::string& body, bool empty_ok) {
  if (body.empty() && empty_ok) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return std::unexpected(invalid_params("malformed JSON body: " + ec.message()));
  if (!v.is_object()) return std::unexpected(invalid_params("the JSON body must be an object"));
  return std::move(v.as_object());
}

ApiResult<std::optional<std::string>> string_field(const json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>{};
  if (!it->value().is_string()) {
    return std::unexpected(invalid_params(std::string("`") + key + "` must be a string"));
  }
  return std::optional<std::string>{std::string(it->value().as_string())};
}

ApiResult<RunPolicy> policy_of(const json::object& body) {
  RunPolicy p;
  auto it = body.find("policy");
  if (it == body.end() || it->value().is_null()) return p;
  if (!it->value().is_object())
    return std::unexpected(ApiError{400, "INVALID_POLICY", "`policy` must be an object"});
  const auto& o = it->value().as_object();
  for (auto [key, field] :
       {std::pair{"max_parallel_microvms_per_run", &p.max_parallel_microvms_per_run},
        std::pair{"max_stage_retries", &p.max_stage_retries},
        std::pair{"stage_timeout_secs", &p.stage_timeout_secs},
        std::pair{"cancel_grace_period_secs", &p.cancel_grace_period_secs}}) {
    auto f = o.find(key);
    if (f == o.end()) continue;
    if (!f->value().is_int64() && !f->value().is_uint64()) {
      return std::unexpected(
          ApiError{400, "INVALID_POLICY", std::string("`") + key + "` must be an integer"});
    }
    *field = f->value().to_number<std::int64_t>();
  }
  return p;
}

ApiResult<std::int64_t> cursor_of(const std::string& text) {
  if (text.empty()) return 0;
  std::string digits = text.starts_with("evt-") ? text.substr(4) : text;
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::unexpected(invalid_params("from_event_id must be an event id such as evt-12"));
  }
  return std::stoll(digits);
}

ApiResult<std::string> read_artifact(const std::filesystem::path& root, const ArtifactRecord& a) {
  std::ifstream in(root / a.path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) {
    return std::unexpected(
        ApiError{503, "ARTIFACT_STORE_UNAVAILABLE", "cannot read " + a.name, true});
  }
  return bytes.str();
}

}  // namespace

Response error_response(const ApiError& error) {
  return Response{error.status, "application/json", error_body(error)};
}

std::string percent_decode(std::string_view text, bool query) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (text[i] == '%' && i + 2 < text.size() + 0 && hex(text[i + 1]) >= 0 &&
        hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else if (query && text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i <= query.size() && !query.empty()) {
    std::size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    auto pair = query.substr(i, j - i);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      out[percent_decode(pair.substr(0, eq), true)] =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    }
    i = j + 1;
  }
  return out;
}

Reply Router::handle(const Request& request) {
  auto r = route(request);
  if (!r) return Reply{error_response(r.error()), std::nullopt};
  return std::move(*r);
}

std::string Router::stream_chunk(const EventStream& stream, std::int64_t& last_seq, bool& done) {
  done = false;
  auto run = runs_.store().get_run(stream.run_id);
  if (!run || !*run) {
    done = true;
    return {};
  }
  // The state is read before the events, so a run seen terminal has every
  // event already stored.
  const bool terminal = is_terminal_status((*run)->status);
  auto events = runs_.store().events_after(stream.run_id, last_seq);
  if (!events) {
    done = true;
    return {};
  }
  std::string out;
  for (const auto& e : *events) {
    out += "id: " + event_id(e.seq) +
           "\nevent: " + (stream.v2 ? v2_event_type(e.event_type) : e.event_type) +
           "\ndata: " + json::serialize(event_json(**run, e, stream.v2)) + "\n\n";
    last_seq = e.seq;
  }
  done = terminal;
  return out;
}

ApiResult<Reply> Router::route(const Request& req) {
  const auto q = req.target.find('?');
  const auto parts = split_path(std::string_view(req.target).substr(0, q));
  const auto query =
      parse_query(q == std::string::npos ? "" : std::string_view(req.target).substr(q + 1));
  const bool v2 = query.contains("api_version") && query.at("api_version") == "v2";
  const auto& m = req.method;
  auto method_not_allowed = [&]() -> ApiResult<Reply> {
    return std::unexpected(ApiError{405, "INVALID_PARAMS", m + " is not allowed on " + req.target});
  };
  auto ok = [](int status, const json::value& body) -> ApiResult<Reply> {
    return Reply{json_response(status, body), std::nullopt};
  };
  if (parts.size() < 2 || parts[0] != "v1")
    return std::unexpected(not_found("no route " + req.target));

  if (parts.size() == 2 && parts[1] == "health") {
    if (m != "GET") return method_not_allowed();
    return ok(200, json::object{{"status", "ok"}, {"persistence", "sqlite"}});
  }

  if (parts[1] == "sessions" && parts.size() == 4 && parts[3] == "messages") {
    const std::string& session = parts[2];
    if (m == "GET") {
      auto messages = stored(runs_.store().session_messages(session));
      if (!messages) return std::unexpected(messages.error());
      json::array list;
      for (const auto& msg : *messages) {
        list.push_back(json::object{{"seq", msg.seq},
                                    {"role", msg.role},
                                    {"content", msg.content},
                                    {"timestamp", iso8601(msg.ts_ms)}});
      }
      return ok(200, json::object{{"session_id", session}, {"messages", list}});
    }
    if (m != "POST") return method_not_allowed();
    auto body = parse_body(req.body, false);
    if (!body) return std::unexpected(body.error());
    auto role = string_field(*body, "role");
    auto content = string_field(*body, "content");
    if (!role) return std::unexpected(role.error());
    if (!content) return std::unexpected(content.error());
    if (!*role || !*content)
      return std::unexpected(invalid_params("a message needs `role` and `content`"));
    auto seq =
        stored(runs_.store().append_session_message(session, {0, **role, **content, now_ms()}));
    if (!seq) return std::unexpected(seq.error());
    return ok(200, json::object{{"ok", true}, {"seq", *seq}});
  }

  if (parts[1] != "runs") return std::unexpected(not_found("no route " + req.target));

  if (parts.size() == 2) {
    if (m == "GET") {
      RunFilter filter = RunFilter::all;
      if (auto it = query.find("state"); it != query.end()) {
        if (it->second == "active")
          filter = RunFilter::active;
        else if (it->second == "terminal")
          filter = RunFilter::terminal;
        else if (!it->second.empty())
          return std::unexpected(invalid_params("state must be active or terminal"));
      }
      auto list = stored(runs_.store().list_runs(filter));
      if (!list) return std::unexpected(list.error());
      json::array runs;
      for (const auto& r : *list) runs.push_back(run_json(r, {}, {}, {}, v2));
      return ok(200, json::object{{"runs", runs}});
    }
    if (m != "POST") return method_not_allowed();
    auto body = parse_body(req.body, false);
    if (!body) return std::unexpected(body.error());
    SubmitRequest submit;
    auto file = string_field(*body, "file");
    auto spec_text = string_field(*body, "spec");
    auto format = string_field(*body, "format");
    auto input = string_field(*body, "input");
    auto run_id = string_field(*body, "run_id");
    for (const auto* f : {&file, &spec_text, &format, &input, &run_id}) {
      if (!*f) return std::unexpected(f->error());
    }
    auto policy = policy_of(*body);
    if (!policy) return std::unexpected(policy.error());
    submit.file = file->value_or("");
    submit.spec_text = *spec_text;
    submit.spec_format = *format;
    submit.input = *input;
    submit.run_id = *run_id;
    submit.policy = *policy;
    if (submit.spec_format && *submit.spec_format != "yaml" && *submit.spec_format != "json") {
      return std::unexpected(invalid_params("format must be yaml or json"));
    }
    auto run = runs_.submit(submit);
    if (!run) return std::unexpected(run.error());
    return ok(
        200,
        json::object{{"run_id", run->id}, {"attempt_id", run->attempt_id}, {"state", run->status}});
  }

  const std::string& id = parts[2];
  auto run = stored(runs_.store().get_run(id));
  if (!run) return std::unexpected(run.error());
  if (!*run) return std::unexpected(not_found("no run " + id));
  const RunRecord& r = **run;

  if (parts.size() == 3) {
    if (m != "GET") return method_not_allowed();
    auto stages = stored(runs_.store().stages(id));
    auto artifacts = stored(runs_.store().artifacts(id));
    auto events = stored(runs_.store().events_after(id, 0, kRunEventLimit));
    if (!stages || !artifacts || !events)
      return std::unexpected(internal_error("run store read failed"));
    return ok(200, run_json(r, *stages, *artifacts, *events, v2));
  }
  const std::string& what = parts[3];
  if (parts.size() == 4 && what == "events") {
    if (m != "GET") return method_not_allowed();
    auto it = query.find("from_event_id");
    auto cursor = cursor_of(it != query.end() ? it->second : req.last_event_id);
    if (!cursor) return std::unexpected(cursor.error());
    if (req.accept.find("text/event-stream") != std::string::npos) {
      return Reply{Response{200, "text/event-stream", ""}, EventStream{id, *cursor, v2}};
    }
    auto events = stored(runs_.store().events_after(id, *cursor));
    if (!events) return std::unexpected(events.error());
    json::array list;
    for (const auto& e : *events) list.push_back(event_json(r, e, v2));
    return ok(200, list);
  }
  if (parts.size() == 4 && what == "stages") {
    if (m != "GET") return method_not_allowed();
    auto stages = stored(runs_.store().stages(id));
    if (!stages) return std::unexpected(stages.error());
    json::array list;
    for (const auto& s : *stages) list.push_back(stage_json(s));
    return ok(200, json::object{{"run_id", id},
                                {"attempt_id", r.attempt_id},
                                {"updated_at", iso8601(r.updated_at)},
                                {"stages", list}});
  }
  if (parts.size() == 4 && what == "cancel") {
    if (m != "POST") return method_not_allowed();
    auto body = parse_body(req.body, true);
    if (!body) return std::unexpected(body.error());
    auto reason = string_field(*body, "reason");
    if (!reason) return std::unexpected(reason.error());
    // Shared with the callback, which a notifier may still hold after
    // unsubscribe() returned.
    struct Wake {
      std::mutex mu;
      std::condition_variable cv;
    };
    auto wake = std::make_shared<Wake>();
    auto handle = runs_.subscribe(id, [wake] {
      std::lock_guard l(wake->mu);
      wake->cv.notify_all();
    });
    auto cancelled = runs_.cancel(id, reason->value_or("cancelled"));
    // Answer with the terminal state when the run stops soon, as it does
    // once its commands are killed.
    RunRecord latest = cancelled ? *cancelled : r;
    if (cancelled) {
      std::unique_lock lock(wake->mu);
      wake->cv.wait_for(lock, std::chrono::seconds(5), [&] {
        auto now = runs_.store().get_run(id);
        if (now && *now) latest = **now;
        return is_terminal_status(latest.status);
      });
    }
    runs_.unsubscribe(handle);
    if (!cancelled) return std::unexpected(cancelled.error());
    return ok(200,
              json::object{{"run_id", id},
                           {"state", latest.status},
                           {"terminal_event_id", latest.terminal_event_id.empty()
                                                     ? json::value(nullptr)
                                                     : json::value(latest.terminal_event_id)}});
  }
  if (parts.size() == 4 && (what == "inbox" || what == "intents" || what == "messages")) {
    return std::unexpected(not_found("run " + id + " has no sidecar (messaging is not enabled)"));
  }
  if ((parts.size() == 6 || parts.size() == 7) && what == "stages") {
    if (m != "GET") return method_not_allowed();
    const std::string& stage = parts[4];
    std::string name;
    if (parts.size() == 6 && parts[5] == "output-file")
      name = "output";
    else if (parts.size() == 7 && parts[5] == "artifacts")
      name = parts[6];
    else
      return std::unexpected(not_found("no route " + req.target));
    auto artifacts = stored(runs_.store().artifacts(id));
    if (!artifacts) return std::unexpected(artifacts.error());
    for (const auto& a : *artifacts) {
      if (a.stage_name == stage && a.name == name) {
        auto bytes = read_artifact(runs_.artifact_root(), a);
        if (!bytes) return std::unexpected(bytes.error());
        return Reply{Response{200, name == "output" ? "application/octet-stream" : a.media_type,
                              std::move(*bytes)},
                     std::nullopt};
      }
    }
    if (name == "output") {
      return std::unexpected(ApiError{404, "STRUCTURED_OUTPUT_MISSING",
                                      "run " + id + " has no output for stage " + stage +
                                          (r.output_ready ? "" : " (not published yet)")});
    }
    return std::unexpected(ApiError{404, "ARTIFACT_NOT_FOUND",
                                    "run " + id + " stage " + stage + " has no artifact " + name});
  }
  return std::unexpected(not_found("no route " + req.target));
}

}  // namespace voidbox::daemon
