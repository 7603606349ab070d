#include "output_fuzz_body.hpp"

#include <cstdlib>
#include <string_view>

#include "agent/output_parser.hpp"

namespace voidbox::agent::fuzz {

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_events(const std::vector<AgentEvent>& events, const ParserLimits& limits) {
  for (const AgentEvent& e : events) {
    check(e.text.size() <= limits.max_event_text_bytes);
    check(e.tool.input_json.size() <= limits.max_event_text_bytes);
    check(e.tool.name.size() <= 256 && e.tool.id.size() <= 256);
  }
}

}  // namespace

int run_output_parser(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Flavor flavor = (data[0] & 1) ? Flavor::codex : Flavor::claude;
  const std::size_t chunk = 1 + (data[0] >> 1);  // 1..128 bytes per feed
  // Small bounds so short inputs reach the truncation and drop paths.
  ParserLimits limits;
  limits.max_line_bytes = 4096;
  limits.max_event_text_bytes = 64;
  limits.max_result_text_bytes = 256;
  limits.max_tool_calls = 8;
  limits.max_events_per_line = 16;
  OutputParser parser(flavor, limits);
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t events = 0;
  while (!rest.empty()) {
    const std::string_view piece = rest.substr(0, chunk);
    const auto out = parser.feed(piece);
    check_events(out, limits);
    events += out.size();
    rest.remove_prefix(piece.size());
  }
  const auto tail = parser.finish();
  check_events(tail, limits);
  if (auto result = parser.result()) {
    check(result->result_text.size() <= limits.max_result_text_bytes);
    check(result->tool_calls.size() <= limits.max_tool_calls);
    if (result->error) check(result->error->size() <= limits.max_event_text_bytes);
  }
  (void)events;
  return 0;
}

}  // namespace voidbox::agent::fuzz
