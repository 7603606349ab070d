// claude-code `--output-format stream-json --verbose` lines: `system` (init),
// `assistant` (text and tool_use blocks), `user` (tool_result blocks) and the
// final `result`.
#include <string>

#include "agent/json_fields.hpp"
#include "agent/output_parser.hpp"

namespace voidbox::agent::detail {

namespace json = boost::json;

namespace {

// A tool_result's content is a string or an array of {type: text, text}.
std::string tool_result_text(const json::object& block, std::size_t max_bytes) {
  const json::value* content = field(block, "content");
  if (!content) return {};
  if (content->is_string()) return truncate_utf8(content->get_string(), max_bytes);
  std::string text;
  if (const auto* parts = content->if_array()) {
    for (const json::value& part : *parts) {
      const auto* o = part.if_object();
      if (!o) continue;
      if (auto t = string_field(*o, "text")) {
        if (!text.empty()) text += '\n';
        text.append(*t);
        if (text.size() > max_bytes) break;
      }
    }
  }
  return truncate_utf8(text, max_bytes);
}

void handle_assistant(const json::object& line, const ParserLimits& limits,
                      OutputParser::State& state, std::vector<AgentEvent>& out) {
  const json::object* message = object_field(line, "message");
  if (!message) return;
  if (auto model = string_field(*message, "model"); model && state.result.model.empty()) {
    state.result.model = truncate_utf8(*model, 256);
  }
  const json::array* content = array_field(*message, "content");
  if (!content) return;
  const std::size_t first = out.size();
  for (const json::value& item : *content) {
    if (out.size() - first >= limits.max_events_per_line) break;
    const json::object* block = item.if_object();
    if (!block) continue;
    const auto type = string_field(*block, "type");
    if (type == "text") {
      AgentEvent e;
      e.type = AgentEvent::Type::text;
      e.text =
          truncate_utf8(string_field(*block, "text").value_or(""), limits.max_event_text_bytes);
      out.push_back(std::move(e));
    } else if (type == "tool_use") {
      AgentEvent e;
      e.type = AgentEvent::Type::tool_use;
      e.tool.id = truncate_utf8(string_field(*block, "id").value_or(""), 256);
      e.tool.name = truncate_utf8(string_field(*block, "name").value_or(""), 256);
      if (const json::value* input = field(*block, "input")) {
        e.tool.input_json = truncate_utf8(json::serialize(*input), limits.max_event_text_bytes);
      }
      if (state.result.tool_calls.size() < limits.max_tool_calls) {
        state.call_index.try_emplace(e.tool.id, state.result.tool_calls.size());
        state.result.tool_calls.push_back(e.tool);
      } else {
        ++state.tool_calls_dropped;
      }
      out.push_back(std::move(e));
    }
  }
}

void handle_user(const json::object& line, const ParserLimits& limits, OutputParser::State& state,
                 std::vector<AgentEvent>& out) {
  const json::object* message = object_field(line, "message");
  const json::array* content = message ? array_field(*message, "content") : nullptr;
  if (!content) return;
  const std::size_t first = out.size();
  for (const json::value& item : *content) {
    if (out.size() - first >= limits.max_events_per_line) break;
    const json::object* block = item.if_object();
    if (!block || string_field(*block, "type") != "tool_result") continue;
    AgentEvent e;
    e.type = AgentEvent::Type::tool_result;
    e.tool.id = truncate_utf8(string_field(*block, "tool_use_id").value_or(""), 256);
    e.tool.is_error = bool_field(*block, "is_error").value_or(false);
    e.tool.has_result = true;
    e.is_error = e.tool.is_error;
    e.text = tool_result_text(*block, limits.max_event_text_bytes);
    if (auto it = state.call_index.find(e.tool.id); it != state.call_index.end()) {
      ToolCall& call = state.result.tool_calls[it->second];
      call.has_result = true;
      call.is_error = e.tool.is_error;
      e.tool.name = call.name;
    }
    out.push_back(std::move(e));
  }
}

void handle_result(const json::object& line, const ParserLimits& limits, OutputParser::State& state,
                   std::vector<AgentEvent>& out) {
  AgentResult& r = state.result;
  r.subtype = truncate_utf8(string_field(line, "subtype").value_or(""), 128);
  r.is_error = bool_field(line, "is_error").value_or(r.subtype != "success");
  r.result_text =
      truncate_utf8(string_field(line, "result").value_or(""), limits.max_result_text_bytes);
  r.total_cost_usd = number_field(line, "total_cost_usd").value_or(0);
  r.duration_ms = count_field(line, "duration_ms").value_or(0);
  r.duration_api_ms = count_field(line, "duration_api_ms").value_or(0);
  r.num_turns = count_field(line, "num_turns").value_or(0);
  if (auto id = string_field(line, "session_id")) r.session_id = truncate_utf8(*id, 256);
  if (const json::object* usage = object_field(line, "usage")) {
    r.input_tokens = count_field(*usage, "input_tokens").value_or(0);
    r.output_tokens = count_field(*usage, "output_tokens").value_or(0);
  }
  r.error.reset();
  if (r.is_error) {
    // Error results carry their reasons in `errors` (error_during_execution)
    // or only the subtype (error_max_turns).
    std::string reason;
    if (const json::array* errors = array_field(line, "errors")) {
      for (const json::value& e : *errors) {
        if (!e.is_string()) continue;
        if (!reason.empty()) reason += "; ";
        reason.append(e.get_string());
        if (reason.size() > limits.max_event_text_bytes) break;
      }
    }
    if (reason.empty()) reason = r.result_text.empty() ? r.subtype : r.result_text;
    r.error = truncate_utf8(reason, limits.max_event_text_bytes);
  }
  state.have_result = true;
  AgentEvent e;
  e.type = AgentEvent::Type::result;
  e.text = truncate_utf8(r.result_text, limits.max_event_text_bytes);
  e.is_error = r.is_error;
  e.model = r.model;
  e.session_id = r.session_id;
  out.push_back(std::move(e));
}

}  // namespace

bool handle_claude_line(std::string_view text, const ParserLimits& limits,
                        OutputParser::State& state, std::vector<AgentEvent>& out) {
  const std::optional<json::object> line = parse_object(text);
  if (!line) return false;
  const auto type = string_field(*line, "type");
  if (!type) return false;
  if (*type == "system") {
    if (string_field(*line, "subtype") != "init") return true;
    AgentEvent e;
    e.type = AgentEvent::Type::init;
    e.model = truncate_utf8(string_field(*line, "model").value_or(""), 256);
    e.session_id = truncate_utf8(string_field(*line, "session_id").value_or(""), 256);
    state.result.model = e.model;
    state.result.session_id = e.session_id;
    out.push_back(std::move(e));
  } else if (*type == "assistant") {
    handle_assistant(*line, limits, state, out);
  } else if (*type == "user") {
    handle_user(*line, limits, state, out);
  } else if (*type == "result") {
    handle_result(*line, limits, state, out);
  }
  // Other types (stream_event, rate-limit notices, ...) are known to exist
  // and carry nothing the result needs.
  return true;
}

}  // namespace voidbox::agent::detail
