// `voidbox image build claude` gives an ext4 agent disk with the npm
// package's native executable, the libraries ldd lists and a wrapper that
// runs it through the disk's own loader. Read back with debugfs (e2fsprogs),
// so no mount and no root are needed.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string capture(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    ::pclose(p);
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(AgentDiskTest, ClaudeDiskHoldsTheAgentItsLibrariesAndAWrapper) {
  const std::string disk =
      trimmed(capture(std::string(VOIDBOX_CLI) + " image build claude 2>/dev/null"));
  ASSERT_FALSE(disk.empty()) << "voidbox image build claude printed nothing";
  ASSERT_TRUE(fs::is_regular_file(disk)) << disk;
  EXPECT_NE(disk.find("/agents/claude-"), std::string::npos) << disk;

  const std::string binary = trimmed(
      capture(std::string(VOIDBOX_SOURCE_ROOT) + "/scripts/install-agent.sh --print claude"));
  ASSERT_TRUE(fs::is_regular_file(binary)) << binary;
  const std::string debugfs = "debugfs -R ";
  const std::string stat = capture(debugfs + "'stat /libexec/claude' " + disk + " 2>/dev/null");
  EXPECT_NE(stat.find("Size: " + std::to_string(fs::file_size(binary))), std::string::npos) << stat;

  const std::string libs = capture(debugfs + "'ls /lib' " + disk + " 2>/dev/null");
  for (const char* lib : {"libc.so.6", "ld-linux-x86-64.so.2", "libm.so.6", "libpthread.so.0"}) {
    EXPECT_NE(libs.find(lib), std::string::npos) << lib << " missing from /lib: " << libs;
  }
  const std::string wrapper = capture(debugfs + "'cat /bin/claude' " + disk + " 2>/dev/null");
  EXPECT_NE(wrapper.find("--library-path \"$root/lib\" \"$root/libexec/claude\""),
            std::string::npos)
      << wrapper;
  const std::string manifest = capture(debugfs + "'cat /agent.json' " + disk + " 2>/dev/null");
  EXPECT_NE(manifest.find(R"("agent":"claude")"), std::string::npos) << manifest;

  // A second build finds the cached disk instead of rebuilding it.
  const auto before = fs::last_write_time(disk);
  EXPECT_EQ(trimmed(capture(std::string(VOIDBOX_CLI) + " image build claude 2>/dev/null")), disk);
  EXPECT_EQ(fs::last_write_time(disk), before);
}

}  // namespace
