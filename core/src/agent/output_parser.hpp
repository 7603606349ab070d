// Turns an agent's stdout (newline-delimited JSON, fed in whatever chunks the
// guest sends) into progress events and, at the end, a typed AgentResult.
//
// The bytes come from the guest: a line longer than the bound is dropped
// without being buffered whole, JSON nesting is bounded by the parser, every
// field is type-checked before use, text carried by events is truncated, and
// the number of tool calls kept is capped. Nothing here throws on bad input;
// malformed lines are counted and skipped.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/agent_result.hpp"

namespace voidbox::agent {

struct ParserLimits {
  std::size_t max_line_bytes = 8u << 20;  // a tool_result line can carry a whole file
  std::size_t max_event_text_bytes = 64u << 10;
  std::size_t max_result_text_bytes = 4u << 20;
  std::size_t max_tool_calls = 4096;
  std::size_t max_events_per_line = 1024;  // content blocks beyond it are ignored
};

class OutputParser {
 public:
  explicit OutputParser(Flavor flavor, ParserLimits limits = {});

  // Consumes the next chunk of stdout; returns the events its complete lines
  // produced, in order.
  std::vector<AgentEvent> feed(std::string_view bytes);
  // End of stdout: a last line without a newline is parsed too.
  std::vector<AgentEvent> finish();

  // The run's result. An error when the agent never printed a result (claude)
  // or a completed/failed turn (codex): it crashed, was killed or printed
  // something else entirely.
  std::expected<AgentResult, std::string> result() const;

  std::size_t skipped_lines() const { return skipped_lines_; }

  // Accumulated state, shared with the flavor's line handler.
  struct State {
    AgentResult result;
    bool have_result = false;
    std::size_t tool_calls_dropped = 0;
    std::unordered_map<std::string, std::size_t> call_index;  // tool id -> tool_calls slot
  };

 private:
  void parse_line(std::string_view line, std::vector<AgentEvent>& out);

  Flavor flavor_;
  ParserLimits limits_;
  std::string line_;
  bool discarding_ = false;  // inside a line that exceeded the bound
  std::size_t skipped_lines_ = 0;
  State state_;
};

namespace detail {
// One parsed JSON line of each flavor; false when the line is not an event of
// that flavor (counted as skipped).
bool handle_claude_line(std::string_view line, const ParserLimits& limits,
                        OutputParser::State& state, std::vector<AgentEvent>& out);
bool handle_codex_line(std::string_view line, const ParserLimits& limits,
                       OutputParser::State& state, std::vector<AgentEvent>& out);
// Cuts at the bound without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);
}  // namespace detail

}  // namespace voidbox::agent
