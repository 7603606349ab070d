// Replays the fuzz corpora (sdk/virtio/fuzz/corpus/<target>/, every input
// that corpus.list names) and a batch of deterministic random inputs through
// the fuzz harnesses, so every build exercises them; a crash, a violated
// harness invariant or a sanitizer report fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../fuzz/virtqueue_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const std::uint8_t*, std::size_t);

const fs::path kCorpus = VOIDBOX_VIRTIO_CORPUS_DIR;

// The inputs corpus.list names, as paths relative to the corpus directory.
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

void replay_random(Harness harness, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 4096);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    harness(bytes.data(), bytes.size());
  }
}

TEST(FuzzCorpusTest, VirtqueueCorpusReplays) {
  replay_corpus("virtqueue", voidbox::virtio::fuzz::run_virtqueue);
  replay_random(voidbox::virtio::fuzz::run_virtqueue, 1);
}

TEST(FuzzCorpusTest, MmioCorpusReplays) {
  replay_corpus("mmio", voidbox::virtio::fuzz::run_mmio);
  replay_random(voidbox::virtio::fuzz::run_mmio, 2);
}

TEST(FuzzCorpusTest, EveryCorpusInputIsListed) {
  const auto names = listed();
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), kCorpus).string();
    EXPECT_TRUE(names.contains(name)) << name << " is not in corpus.list";
  }
}

}  // namespace
