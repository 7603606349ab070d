// Replays the vsock fuzz corpus and deterministic random inputs through the
// fuzz harness in every build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "../fuzz/vsock_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

TEST(VsockFuzzCorpusTest, CorpusAndRandomInputsReplay) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(VOIDBOX_VSOCK_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    voidbox::kvm::vsock::fuzz::run_packets(bytes.data(), bytes.size());
    ++count;
  }
  EXPECT_GE(count, 5);
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 4096);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    voidbox::kvm::vsock::fuzz::run_packets(bytes.data(), bytes.size());
  }
}

}  // namespace
