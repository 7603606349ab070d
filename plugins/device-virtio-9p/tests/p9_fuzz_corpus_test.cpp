// Replays the 9P fuzz corpora (fuzz/corpus/<target>/, every input that
// corpus.list names) and a batch of deterministic random inputs through the
// fuzz harnesses, so every build exercises them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../fuzz/p9_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const std::uint8_t*, std::size_t);

const fs::path kCorpus = VOIDBOX_9P_CORPUS_DIR;

std::set<std::string> listed() {
  std::ifstream in(kCorpus.parent_path() / "corpus.list");
  std::set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') names.insert(line);
  }
  return names;
}

void replay_corpus(const std::string& target, Harness harness) {
  std::size_t count = 0;
  for (const std::string& name : listed()) {
    if (!name.starts_with(target + "/")) continue;
    const fs::path file = kCorpus / name;
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is listed in corpus.list but missing";
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    harness(bytes.data(), bytes.size());
    ++count;
  }
  EXPECT_GT(count, 0u) << "corpus.list names no " << target << " input";
}

// Random bytes behind a valid header of every message type, so the body
// parsers (not only the size check) see them.
void replay_random(Harness harness, std::uint32_t seed, bool framed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 400; ++i) {
    std::vector<std::uint8_t> bytes(7 + rng() % 600);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    if (framed) {
      const auto n = static_cast<std::uint32_t>(bytes.size());
      for (int k = 0; k < 4; ++k) bytes[k] = static_cast<std::uint8_t>(n >> (8 * k));
      bytes[4] = static_cast<std::uint8_t>(6 + 2 * (rng() % 60));
    }
    harness(bytes.data(), bytes.size());
  }
}

TEST(P9FuzzCorpusTest, MessageCorpusReplays) {
  replay_corpus("message", voidbox::p9::fuzz::run_message);
  replay_random(voidbox::p9::fuzz::run_message, 1, true);
  replay_random(voidbox::p9::fuzz::run_message, 2, false);
}

TEST(P9FuzzCorpusTest, ServerCorpusReplays) {
  replay_corpus("server", voidbox::p9::fuzz::run_server);
  replay_random(voidbox::p9::fuzz::run_server, 3, true);
}

}  // namespace
