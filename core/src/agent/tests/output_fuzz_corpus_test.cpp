// Replays the output parser's fuzz corpus (core/src/agent/fuzz/corpus/, every
// input corpus.list names) and seeded random inputs through the fuzz harness,
// so every build exercises it; a crash, a violated harness invariant or a
// sanitizer report fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../fuzz/output_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = VOIDBOX_AGENT_CORPUS_DIR;

std::set<std::string> listed() {
  std::ifstream in(kCorpus.parent_path() / "corpus.list");
  std::set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') names.insert(line);
  }
  return names;
}

TEST(AgentOutputFuzzCorpusTest, CorpusReplays) {
  std::size_t count = 0;
  for (const std::string& name : listed()) {
    const fs::path file = kCorpus / name;
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is listed in corpus.list but missing";
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    voidbox::agent::fuzz::run_output_parser(bytes.data(), bytes.size());
    ++count;
  }
  EXPECT_GE(count, 2u);
}

// Random bytes mostly fail JSON parsing early; splicing JSON-ish fragments
// reaches the field handlers.
TEST(AgentOutputFuzzCorpusTest, RandomInputsReplay) {
  static const char* const kFragments[] = {
      R"({"type":"assistant","message":{"content":[{"type":"tool_use","id":"a","name":"B","input":)",
      R"({"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"a","content":)",
      R"({"type":"result","subtype":"success","result":")",
      R"({"type":"item.completed","item":{"id":"x","type":"command_execution","exit_code":)",
      R"({"type":"turn.completed","usage":{"input_tokens":)",
      "[",
      "]",
      "{",
      "}",
      "\"",
      ",",
      "\n",
      "1e999",
      "-1",
      "\xff",
      "null",
      "true"};
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string input(1, static_cast<char>(rng()));
    const int parts = static_cast<int>(rng() % 24);
    for (int p = 0; p < parts; ++p) {
      if (rng() % 4 == 0)
        input.push_back(static_cast<char>(rng()));
      else
        input += kFragments[rng() % std::size(kFragments)];
    }
    voidbox::agent::fuzz::run_output_parser(reinterpret_cast<const std::uint8_t*>(input.data()),
                                            input.size());
  }
}

TEST(AgentOutputFuzzCorpusTest, EveryCorpusInputIsListed) {
  const auto names = listed();
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), kCorpus).string();
    EXPECT_TRUE(names.contains(name)) << name << " is not in corpus.list";
  }
}

}  // namespace
