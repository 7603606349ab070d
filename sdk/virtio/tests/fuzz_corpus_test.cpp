// Replays the fuzz corpora (sdk/virtio/fuzz/corpus/<target>/) and a batch of
// deterministic random inputs through the fuzz harnesses, so every build
// exercises them; a crash or sanitizer report fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "../fuzz/virtqueue_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;
using Harness = int (*)(const std::uint8_t*, std::size_t);

int replay_corpus(const char* target, Harness harness) {
  const fs::path dir = fs::path(VOIDBOX_VIRTIO_CORPUS_DIR) / target;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    harness(bytes.data(), bytes.size());
    ++count;
  }
  return count;
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
  EXPECT_GE(replay_corpus("virtqueue", voidbox::virtio::fuzz::run_virtqueue), 5);
  replay_random(voidbox::virtio::fuzz::run_virtqueue, 1);
}

TEST(FuzzCorpusTest, MmioCorpusReplays) {
  EXPECT_GE(replay_corpus("mmio", voidbox::virtio::fuzz::run_mmio), 5);
  replay_random(voidbox::virtio::fuzz::run_mmio, 2);
}

}  // namespace
