// What a coding agent run reports: the progress events streamed while it
// works and the typed result at the end. Filled from the agent's own JSON
// output (claude-code stream-json, codex exec --json), which comes from the
// guest and is therefore bounded and validated on the way in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace voidbox::agent {

// Which agent CLI runs in the guest.
enum class Flavor { claude, codex };

const char* to_string(Flavor flavor);

struct ToolCall {
  std::string id;
  std::string name;
  std::string input_json;  // the tool input as compact JSON, truncated at the event text bound
  bool has_result = false;
  bool is_error = false;  // the tool_result said so
};

// One progress event, in the order the agent printed them.
struct AgentEvent {
  enum class Type {
    init,         // session started: model, session_id
    text,         // assistant text: text
    tool_use,     // a tool call: tool (id, name, input_json)
    tool_result,  // a tool finished: tool.id, tool.is_error, text = its output (truncated)
    result,       // the final line: text = the result text, is_error
    error,        // the agent reported an error event: text
  };
  Type type = Type::text;
  std::string text;
  ToolCall tool;
  std::string model;
  std::string session_id;
  bool is_error = false;
};

struct AgentResult {
  std::string result_text;
  std::string model;
  std::string session_id;
  std::string subtype;  // claude: "success", "error_max_turns", ...; codex: "success"/"error"
  double total_cost_usd = 0;
  std::uint64_t duration_ms = 0;
  std::uint64_t duration_api_ms = 0;
  std::uint64_t num_turns = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  bool is_error = false;
  std::optional<std::string> error;
  std::vector<ToolCall> tool_calls;
};

}  // namespace voidbox::agent
