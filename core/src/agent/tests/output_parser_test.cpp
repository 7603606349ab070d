#include "agent/output_parser.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace voidbox::agent {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(VOIDBOX_AGENT_TEST_DATA) + "/" + name, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::vector<AgentEvent> feed_all(OutputParser& parser, std::string_view bytes, std::size_t chunk) {
  std::vector<AgentEvent> events;
  while (!bytes.empty()) {
    auto out = parser.feed(bytes.substr(0, chunk));
    events.insert(events.end(), out.begin(), out.end());
    bytes.remove_prefix(std::min(chunk, bytes.size()));
  }
  auto tail = parser.finish();
  events.insert(events.end(), tail.begin(), tail.end());
  return events;
}

// A real claude-code 2.1.332 run against the mock: Bash tool_use, then text.
TEST(OutputParserTest, ClaudeRealRunGivesTypedResult) {
  const std::string run = read_data("claude-stream.jsonl");
  ASSERT_FALSE(run.empty());
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, run.size()}) {
    OutputParser parser(Flavor::claude);
    const auto events = feed_all(parser, run, chunk);
    ASSERT_EQ(events.size(), 6u) << "chunk " << chunk;
    EXPECT_EQ(events[0].type, AgentEvent::Type::init);
    EXPECT_EQ(events[0].model, "claude-opus-5-5");
    EXPECT_EQ(events[1].type, AgentEvent::Type::text);
    EXPECT_EQ(events[1].text, "Writing the file.");
    EXPECT_EQ(events[2].type, AgentEvent::Type::tool_use);
    EXPECT_EQ(events[2].tool.name, "Bash");
    EXPECT_NE(events[2].tool.input_json.find("echo pineapple > marker.txt"), std::string::npos);
    EXPECT_EQ(events[3].type, AgentEvent::Type::tool_result);
    EXPECT_EQ(events[3].tool.name, "Bash");
    EXPECT_EQ(events[3].text, "(Bash completed with no output)");
    EXPECT_EQ(events[5].type, AgentEvent::Type::result);

    auto result = parser.result();
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(result->result_text, "The marker file is written.");
    EXPECT_EQ(result->subtype, "success");
    EXPECT_FALSE(result->is_error);
    EXPECT_FALSE(result->error);
    EXPECT_EQ(result->num_turns, 2u);
    EXPECT_EQ(result->model, "claude-opus-5-5");
    EXPECT_EQ(result->session_id, "87d1ff95-c16b-45a1-91a0-a4b5dc1e68a2");
    EXPECT_DOUBLE_EQ(result->total_cost_usd, 0.022036);
    EXPECT_EQ(result->duration_ms, 419u);
    EXPECT_EQ(result->duration_api_ms, 106u);
    EXPECT_EQ(result->input_tokens, 5409u);
    EXPECT_EQ(result->output_tokens, 20u);
    ASSERT_EQ(result->tool_calls.size(), 1u);
    EXPECT_EQ(result->tool_calls[0].id, "toolu_mock_0_1");
    EXPECT_TRUE(result->tool_calls[0].has_result);
    EXPECT_FALSE(result->tool_calls[0].is_error);
    EXPECT_EQ(parser.skipped_lines(), 0u);
  }
}

TEST(OutputParserTest, NoResultLineIsAnError) {
  OutputParser parser(Flavor::claude);
  parser.feed(R"({"type":"system","subtype":"init","model":"m","session_id":"s"})"
              "\n");
  auto result = parser.result();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("no result"), std::string::npos);
}

TEST(OutputParserTest, ErrorResultCarriesReasons) {
  OutputParser parser(Flavor::claude);
  parser.feed(R"({"type":"result","subtype":"error_during_execution","is_error":true,)"
              R"("errors":["API Error: 401","gave up"],"num_turns":1})"
              "\n");
  auto result = parser.result();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(result->subtype, "error_during_execution");
  EXPECT_EQ(result->error.value_or(""), "API Error: 401; gave up");
}

TEST(OutputParserTest, MistypedFieldsReadAsAbsent) {
  OutputParser parser(Flavor::claude);
  parser.feed(R"({"type":"result","subtype":"success","is_error":"no","result":5,)"
              R"("total_cost_usd":-3,"num_turns":-1,"duration_ms":1.5,)"
              R"("usage":{"input_tokens":"many","output_tokens":18446744073709551615}})"
              "\n");
  auto result = parser.result();
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->is_error);  // a non-bool is_error falls back to the subtype
  EXPECT_EQ(result->result_text, "");
  EXPECT_EQ(result->total_cost_usd, 0);
  EXPECT_EQ(result->num_turns, 0u);
  EXPECT_EQ(result->duration_ms, 0u);
  EXPECT_EQ(result->input_tokens, 0u);
  EXPECT_EQ(result->output_tokens, 18446744073709551615u);
}

TEST(OutputParserTest, OverlongLineIsDroppedWithoutBufferingAndParsingGoesOn) {
  ParserLimits limits;
  limits.max_line_bytes = 100;
  OutputParser parser(Flavor::claude, limits);
  const std::string huge = R"({"type":"assistant","message":{"content":[{"type":"text","text":")" +
                           std::string(10'000, 'x') + "\"}]}}\n";
  std::vector<AgentEvent> events;
  for (std::size_t i = 0; i < huge.size(); i += 10) {
    auto out = parser.feed(std::string_view(huge).substr(i, 10));
    events.insert(events.end(), out.begin(), out.end());
  }
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(parser.skipped_lines(), 1u);
  auto out = parser.feed(R"({"type":"result","subtype":"success","result":"ok"})"
                         "\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "ok");
}

TEST(OutputParserTest, GarbageAndDeepNestingAreSkipped) {
  OutputParser parser(Flavor::claude);
  parser.feed("not json\n[1,2]\n{\"type\":7}\n" + std::string(100'000, '[') + "\n");
  EXPECT_EQ(parser.skipped_lines(), 4u);
  EXPECT_FALSE(parser.result());
}

TEST(OutputParserTest, TextIsTruncatedOnAUtf8Boundary) {
  ParserLimits limits;
  limits.max_event_text_bytes = 4;
  OutputParser parser(Flavor::claude, limits);
  // "aé€": 1 + 2 + 3 bytes; 4 bytes would cut the euro sign.
  auto out = parser.feed(
      "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":"
      "\"a\xc3\xa9\xe2\x82"
      "\xac\"}]}}\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "a\xc3\xa9");
}

TEST(OutputParserTest, ToolCallsAreCapped) {
  ParserLimits limits;
  limits.max_tool_calls = 3;
  OutputParser parser(Flavor::claude, limits);
  std::string line = R"({"type":"assistant","message":{"content":[)";
  for (int i = 0; i < 10; ++i) {
    if (i) line += ',';
    line += R"({"type":"tool_use","id":"t)" + std::to_string(i) + R"(","name":"Bash","input":{}})";
  }
  line += "]}}\n";
  EXPECT_EQ(parser.feed(line).size(), 10u);
  parser.feed(R"({"type":"result","subtype":"success"})"
              "\n");
  auto result = parser.result();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->tool_calls.size(), 3u);
}

TEST(OutputParserTest, CodexExecRunGivesTypedResult) {
  OutputParser parser(Flavor::codex);
  const auto events = feed_all(parser, read_data("codex-exec.jsonl"), 5);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].type, AgentEvent::Type::init);
  EXPECT_EQ(events[1].type, AgentEvent::Type::tool_use);
  EXPECT_EQ(events[1].tool.name, "command_execution");
  EXPECT_EQ(events[2].type, AgentEvent::Type::tool_result);
  EXPECT_FALSE(events[2].is_error);
  EXPECT_EQ(events[3].type, AgentEvent::Type::text);
  EXPECT_EQ(events[4].type, AgentEvent::Type::result);
  auto result = parser.result();
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(result->result_text, "The marker file is written.");
  EXPECT_EQ(result->session_id, "0199a213-81c0-7800-8aa1-bbab2a035a53");
  EXPECT_EQ(result->num_turns, 1u);
  EXPECT_EQ(result->input_tokens, 2100u);
  EXPECT_EQ(result->output_tokens, 42u);
  EXPECT_FALSE(result->is_error);
  ASSERT_EQ(result->tool_calls.size(), 1u);
  EXPECT_TRUE(result->tool_calls[0].has_result);
}

TEST(OutputParserTest, CodexFailedTurnIsAnErrorResult) {
  OutputParser parser(Flavor::codex);
  parser.feed(R"({"type":"error","message":"retrying"})"
              "\n"
              R"({"type":"item.completed","item":{"id":"i","type":"command_execution",)"
              R"("command":"false","exit_code":1,"status":"failed"}})"
              "\n"
              R"({"type":"turn.failed","error":{"message":"model overloaded"}})"
              "\n");
  auto result = parser.result();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->is_error);
  EXPECT_EQ(result->error.value_or(""), "model overloaded");
  ASSERT_EQ(result->tool_calls.size(), 1u);
  EXPECT_TRUE(result->tool_calls[0].is_error);
}

}  // namespace
}  // namespace voidbox::agent
