// Line framing for the agents' NDJSON output; the per-flavor handlers turn
// each line into events.
#include "agent/output_parser.hpp"

namespace voidbox::agent {

const char* to_string(Flavor flavor) {
  return flavor == Flavor::claude ? "claude" : "codex";
}

OutputParser::OutputParser(Flavor flavor, ParserLimits limits) : flavor_(flavor), limits_(limits) {}

std::vector<AgentEvent> OutputParser::feed(std::string_view bytes) {
  std::vector<AgentEvent> out;
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (!discarding_) {
      if (line_.size() + piece.size() > limits_.max_line_bytes) {
        // Never buffer an over-long line: drop what we have and skip to its end.
        line_.clear();
        line_.shrink_to_fit();
        discarding_ = true;
        ++skipped_lines_;
      } else {
        line_.append(piece);
      }
    }
    if (newline == std::string_view::npos) break;
    if (!discarding_) parse_line(line_, out);
    line_.clear();
    discarding_ = false;
    bytes.remove_prefix(newline + 1);
  }
  return out;
}

std::vector<AgentEvent> OutputParser::finish() {
  std::vector<AgentEvent> out;
  if (!discarding_ && !line_.empty()) parse_line(line_, out);
  line_.clear();
  discarding_ = false;
  return out;
}

void OutputParser::parse_line(std::string_view line, std::vector<AgentEvent>& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  const bool handled = flavor_ == Flavor::claude
                           ? detail::handle_claude_line(line, limits_, state_, out)
                           : detail::handle_codex_line(line, limits_, state_, out);
  if (!handled) ++skipped_lines_;
}

std::expected<AgentResult, std::string> OutputParser::result() const {
  if (!state_.have_result) {
    return std::unexpected(flavor_ == Flavor::claude
                               ? std::string("claude-code printed no result line")
                               : std::string("codex printed no completed or failed turn"));
  }
  return state_.result;
}

namespace detail {

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to a sequence boundary.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

}  // namespace detail

}  // namespace voidbox::agent
