// Replays the filter fuzz corpus (fuzz/corpus/filter/) and a batch of
// deterministic random inputs through the fuzz harness, so every build runs
// it; a broken invariant aborts and a sanitizer report fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "../fuzz/filter_fuzz_body.hpp"

namespace {

namespace fs = std::filesystem;

TEST(NetFilterFuzzCorpus, SeedsReplay) {
  int count = 0;
  for (const auto& entry :
       fs::directory_iterator(fs::path(VOIDBOX_NET_FILTER_CORPUS_DIR) / "filter")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    voidbox::net::fuzz::run_filter(bytes.data(), bytes.size());
    ++count;
  }
  EXPECT_GE(count, 6);
}

// Random records in the harness's format, so the random bytes land in
// frames rather than in the framing.
TEST(NetFilterFuzzCorpus, RandomRecordsReplay) {
  std::mt19937 rng(11);
  for (int round = 0; round < 400; ++round) {
    std::vector<std::uint8_t> input{static_cast<std::uint8_t>(rng())};
    const int records = 1 + static_cast<int>(rng() % 40);
    for (int r = 0; r < records; ++r) {
      const std::size_t length = rng() % 120;
      input.push_back(static_cast<std::uint8_t>(rng() % 4));
      input.push_back(static_cast<std::uint8_t>(length >> 8));
      input.push_back(static_cast<std::uint8_t>(length));
      // Protocol and destination first, biased towards what the filter acts on.
      static constexpr std::uint8_t kProtocols[] = {1, 6, 17, 17};
      for (std::size_t i = 0; i < length; ++i) {
        std::uint8_t b = static_cast<std::uint8_t>(rng());
        if (i == 0) b = kProtocols[rng() % 4];
        input.push_back(b);
      }
    }
    voidbox::net::fuzz::run_filter(input.data(), input.size());
  }
}

}  // namespace
