// Replays the virtio-net fuzz corpus (fuzz/corpus/, every input corpus.list
// names) and a batch of deterministic random inputs through the fuzz harness,
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

#include "../fuzz/virtio_net_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = VOIDBOX_NET_CORPUS_DIR;

std::set<std::string> listed() {
  std::ifstream in(kCorpus.parent_path() / "corpus.list");
  std::set<std::string> names;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') names.insert(line);
  }
  return names;
}

TEST(NetFuzzCorpusTest, CorpusReplays) {
  std::size_t count = 0;
  for (const std::string& name : listed()) {
    const fs::path file = kCorpus / name;
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is listed in corpus.list but missing";
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    voidbox::net::fuzz::run_virtio_net(bytes.data(), bytes.size());
    ++count;
  }
  EXPECT_GE(count, 4u) << "corpus.list names too few inputs";
}

TEST(NetFuzzCorpusTest, RandomInputsReplay) {
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 8192);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    voidbox::net::fuzz::run_virtio_net(bytes.data(), bytes.size());
  }
}

TEST(NetFuzzCorpusTest, EveryCorpusInputIsListed) {
  const auto names = listed();
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), kCorpus).string();
    EXPECT_TRUE(names.contains(name)) << name << " is not in corpus.list";
  }
}

}  // namespace
