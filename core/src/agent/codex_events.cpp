// `codex exec --json` lines: thread.started, item.started/updated/completed
// (agent_message, command_execution, mcp_tool_call, file_change, web_search,
// reasoning, error), turn.completed with usage, turn.failed, error. codex has
// no result line: a completed or failed turn closes the result, and the last
// agent message is its text.
#include <string>

#include "agent/json_fields.hpp"
#include "agent/output_parser.hpp"

namespace voidbox::agent::detail {

namespace json = boost::json;

namespace {

// The tool a non-message item stands for, as a name and its input.
bool item_tool(const json::object& item, std::string_view type, ToolCall& call) {
  if (type == "command_execution") {
    call.name = "command_execution";
    call.input_json = json::serialize(
        json::object{{"command", std::string(string_field(item, "command").value_or(""))}});
  } else if (type == "mcp_tool_call") {
    call.name = "mcp:" + std::string(string_field(item, "server").value_or("")) + "/" +
                std::string(string_field(item, "tool").value_or(""));
    if (const json::value* args = field(item, "arguments"))
      call.input_json = json::serialize(*args);
  } else if (type == "file_change") {
    call.name = "file_change";
    if (const json::value* changes = field(item, "changes")) {
      call.input_json = json::serialize(*changes);
    }
  } else if (type == "web_search") {
    call.name = "web_search";
    call.input_json = json::serialize(
        json::object{{"query", std::string(string_field(item, "query").value_or(""))}});
  } else {
    return false;
  }
  return true;
}

void handle_item(const json::object& line, bool completed, const ParserLimits& limits,
                 OutputParser::State& state, std::vector<AgentEvent>& out) {
  const json::object* item = object_field(line, "item");
  if (!item) return;
  // Older codex releases name the field item_type.
  const std::string_view type =
      string_field(*item, "type").value_or(string_field(*item, "item_type").value_or(""));
  const std::string id = truncate_utf8(string_field(*item, "id").value_or(""), 256);
  if (type == "agent_message") {
    if (!completed) return;
    AgentEvent e;
    e.type = AgentEvent::Type::text;
    const std::string_view text = string_field(*item, "text").value_or("");
    e.text = truncate_utf8(text, limits.max_event_text_bytes);
    state.result.result_text = truncate_utf8(text, limits.max_result_text_bytes);
    out.push_back(std::move(e));
    return;
  }
  if (type == "error") {
    AgentEvent e;
    e.type = AgentEvent::Type::error;
    e.text =
        truncate_utf8(string_field(*item, "message").value_or(""), limits.max_event_text_bytes);
    out.push_back(std::move(e));
    return;
  }
  ToolCall call;
  call.id = id;
  if (!item_tool(*item, type, call)) return;  // reasoning, todo_list: nothing to report
  call.name = truncate_utf8(call.name, 256);
  call.input_json = truncate_utf8(call.input_json, limits.max_event_text_bytes);
  auto known = state.call_index.find(id);
  if (known == state.call_index.end()) {
    // First sight of this item (codex may skip item.started for quick ones).
    AgentEvent e;
    e.type = AgentEvent::Type::tool_use;
    e.tool = call;
    if (state.result.tool_calls.size() < limits.max_tool_calls) {
      known = state.call_index.emplace(id, state.result.tool_calls.size()).first;
      state.result.tool_calls.push_back(call);
    } else {
      ++state.tool_calls_dropped;
    }
    out.push_back(std::move(e));
  }
  if (!completed) return;
  const auto status = string_field(*item, "status");
  const auto exit_code = field(*item, "exit_code");
  const bool failed = status == "failed" || status == "declined" ||
                      (exit_code && exit_code->is_int64() && exit_code->get_int64() != 0) ||
                      (exit_code && exit_code->is_uint64() && exit_code->get_uint64() != 0);
  AgentEvent e;
  e.type = AgentEvent::Type::tool_result;
  e.tool = call;
  e.tool.has_result = true;
  e.tool.is_error = failed;
  e.is_error = failed;
  e.text = truncate_utf8(string_field(*item, "aggregated_output").value_or(""),
                         limits.max_event_text_bytes);
  if (known != state.call_index.end()) {
    ToolCall& kept = state.result.tool_calls[known->second];
    if (!kept.has_result) {
      kept.has_result = true;
      kept.is_error = failed;
    }
  }
  out.push_back(std::move(e));
}

void close_turn(const ParserLimits& limits, OutputParser::State& state,
                std::vector<AgentEvent>& out) {
  state.have_result = true;
  AgentEvent e;
  e.type = AgentEvent::Type::result;
  e.text = truncate_utf8(state.result.result_text, limits.max_event_text_bytes);
  e.is_error = state.result.is_error;
  e.session_id = state.result.session_id;
  out.push_back(std::move(e));
}

}  // namespace

bool handle_codex_line(std::string_view text, const ParserLimits& limits,
                       OutputParser::State& state, std::vector<AgentEvent>& out) {
  const std::optional<json::object> line = parse_object(text);
  if (!line) return false;
  const auto type = string_field(*line, "type");
  if (!type) return false;
  AgentResult& r = state.result;
  if (*type == "thread.started") {
    AgentEvent e;
    e.type = AgentEvent::Type::init;
    e.session_id = truncate_utf8(string_field(*line, "thread_id").value_or(""), 256);
    r.session_id = e.session_id;
    out.push_back(std::move(e));
  } else if (*type == "item.started" || *type == "item.updated") {
    handle_item(*line, false, limits, state, out);
  } else if (*type == "item.completed") {
    handle_item(*line, true, limits, state, out);
  } else if (*type == "turn.completed") {
    ++r.num_turns;
    if (const json::object* usage = object_field(*line, "usage")) {
      r.input_tokens += count_field(*usage, "input_tokens").value_or(0);
      r.output_tokens += count_field(*usage, "output_tokens").value_or(0);
    }
    r.is_error = false;
    r.subtype = "success";
    r.error.reset();
    close_turn(limits, state, out);
  } else if (*type == "turn.failed" || *type == "error") {
    std::string_view message = string_field(*line, "message").value_or("");
    if (const json::object* error = object_field(*line, "error")) {
      message = string_field(*error, "message").value_or(message);
    }
    if (*type == "error") {
      // A stream error (e.g. a retried disconnect) does not end the turn by itself.
      AgentEvent e;
      e.type = AgentEvent::Type::error;
      e.text = truncate_utf8(message, limits.max_event_text_bytes);
      out.push_back(std::move(e));
      return true;
    }
    ++r.num_turns;
    r.is_error = true;
    r.subtype = "error";
    r.error = truncate_utf8(message, limits.max_event_text_bytes);
    close_turn(limits, state, out);
  }
  return true;
}

}  // namespace voidbox::agent::detail
