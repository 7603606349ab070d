// Replays the fuzz corpus through the fuzz target's body in the normal build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "../fuzz/fuzz_body.hpp"

namespace {

TEST(ProtocolCorpusReplay, EveryCorpusInputRunsCleanly) {
  const std::filesystem::path dir = VOIDBOX_PROTOCOL_CORPUS_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    voidbox::protocol::fuzz::run_one(bytes.data(), bytes.size());
    ++count;
  }
  EXPECT_GE(count, 5u) << "the seed corpus should not be empty";
}

}  // namespace
