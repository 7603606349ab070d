// Replays the vsock fuzz corpus (every input ../fuzz/corpus.list names) and
// deterministic random inputs through the fuzz harness in every build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../fuzz/vsock_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = VOIDBOX_VSOCK_CORPUS_DIR;

std::set<std::string> listed() {
  std::ifstream in(kCorpus.parent_path() / "corpus.list");
  std::set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') names.insert(line);
  }
  return names;
}

TEST(VsockFuzzCorpusTest, ListedCorpusAndRandomInputsReplay) {
  const auto names = listed();
  ASSERT_FALSE(names.empty()) << "corpus.list is empty or missing";
  for (const std::string& name : names) {
    const fs::path file = kCorpus / name;
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is listed in corpus.list but missing";
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    voidbox::kvm::vsock::fuzz::run_packets(bytes.data(), bytes.size());
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 4096);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    voidbox::kvm::vsock::fuzz::run_packets(bytes.data(), bytes.size());
  }
}

TEST(VsockFuzzCorpusTest, EveryCorpusInputIsListed) {
  const auto names = listed();
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_TRUE(names.contains(entry.path().filename().string()))
        << entry.path().filename() << " is not in corpus.list";
  }
}

}  // namespace
