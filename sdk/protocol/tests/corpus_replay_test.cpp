// Replays the fuzz corpus (every input sdk/protocol/fuzz/corpus.list names)
// through the fuzz target's body in the normal build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "../fuzz/fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = VOIDBOX_PROTOCOL_CORPUS_DIR;

std::set<std::string> listed() {
  std::ifstream in(kCorpus.parent_path() / "corpus.list");
  std::set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') names.insert(line);
  }
  return names;
}

TEST(ProtocolCorpusReplay, EveryListedCorpusInputRunsCleanly) {
  const auto names = listed();
  ASSERT_FALSE(names.empty()) << "corpus.list is empty or missing";
  for (const std::string& name : names) {
    const fs::path file = kCorpus / name;
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is listed in corpus.list but missing";
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    voidbox::protocol::fuzz::run_one(bytes.data(), bytes.size());
  }
}

TEST(ProtocolCorpusReplay, EveryCorpusInputIsListed) {
  const auto names = listed();
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_TRUE(names.contains(entry.path().filename().string()))
        << entry.path().filename() << " is not in corpus.list";
  }
}

}  // namespace
