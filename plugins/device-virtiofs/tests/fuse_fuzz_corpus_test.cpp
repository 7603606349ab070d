// Replays the FUSE fuzz corpora (fuzz/corpus/<target>/, every input that
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

#include "../fuzz/fuse_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const std::uint8_t*, std::size_t);

const fs::path kCorpus = VOIDBOX_VIRTIOFS_CORPUS_DIR;

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

// Random bytes behind a valid header of every opcode (small nodeids, so
// some name real inodes), so the body parsers and handlers, not only the
// length check, see them.
void replay_random(Harness harness, std::uint32_t seed, bool framed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 400; ++i) {
    std::vector<std::uint8_t> bytes(40 + rng() % 600);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    if (framed) {
      const auto n = static_cast<std::uint32_t>(bytes.size());
      const std::uint32_t opcode = 1 + rng() % 52;
      for (int k = 0; k < 4; ++k) {
        bytes[k] = static_cast<std::uint8_t>(n >> (8 * k));
        bytes[4 + k] = static_cast<std::uint8_t>(opcode >> (8 * k));
      }
      for (int k = 0; k < 8; ++k) bytes[16 + k] = k == 0 ? static_cast<std::uint8_t>(rng() % 4) : 0;
    }
    harness(bytes.data(), bytes.size());
  }
}

TEST(FuseFuzzCorpusTest, RequestCorpusReplays) {
  replay_corpus("request", voidbox::virtiofs::fuzz::run_request);
  replay_random(voidbox::virtiofs::fuzz::run_request, 1, true);
  replay_random(voidbox::virtiofs::fuzz::run_request, 2, false);
}

TEST(FuseFuzzCorpusTest, ServerCorpusReplays) {
  replay_corpus("server", voidbox::virtiofs::fuzz::run_server);
  replay_random(voidbox::virtiofs::fuzz::run_server, 3, true);
}

}  // namespace
