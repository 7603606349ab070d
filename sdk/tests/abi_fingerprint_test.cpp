// The C ABI headers cannot change by accident: their fingerprint (comments and
// whitespace ignored) must be the last entry of VOIDBOX_ABI_FINGERPRINTS in
// plugin_abi.h, recorded under the current VOIDBOX_ABI_MAJOR.MINOR.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "voidbox/plugin_abi.h"

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The header without its comments, the fingerprint line, and with every run
// of whitespace made one space: what a compiler sees, roughly.
std::string normalized(const std::string& text) {
  std::string code;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("#define VOIDBOX_ABI_FINGERPRINTS")) continue;
    code += line + "\n";
  }
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (code.compare(i, 2, "/*") == 0) {
      const auto end = code.find("*/", i + 2);
      i = end == std::string::npos ? code.size() : end + 1;
      space = true;
      continue;
    }
    if (code.compare(i, 2, "//") == 0) {
      i = code.find('\n', i);
      if (i == std::string::npos) break;
      space = true;
      continue;
    }
    const char c = code[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string fingerprint(const fs::path& include_dir) {
  std::vector<fs::path> headers{include_dir / "voidbox/plugin_abi.h"};
  std::vector<fs::path> kinds;
  for (const auto& entry : fs::directory_iterator(include_dir / "voidbox/abi")) {
    if (entry.path().extension() == ".h") kinds.push_back(entry.path());
  }
  std::sort(kinds.begin(), kinds.end());
  headers.insert(headers.end(), kinds.begin(), kinds.end());
  std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (const auto& header : headers) {
    for (char c : header.filename().string() + "\n" + normalized(read(header))) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

// "1.0=abcd..., 1.1=..." as (version, hash) pairs.
std::vector<std::pair<std::string, std::string>> history() {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream entries(VOIDBOX_ABI_FINGERPRINTS);
  for (std::string entry; std::getline(entries, entry, ',');) {
    entry.erase(0, entry.find_first_not_of(' '));
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    out.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return out;
}

TEST(AbiFingerprint, HeadersMatchTheFingerprintOfTheCurrentAbiVersion) {
  const std::string version =
      std::to_string(VOIDBOX_ABI_MAJOR) + "." + std::to_string(VOIDBOX_ABI_MINOR);
  const std::string now = fingerprint(fs::path(VOIDBOX_SOURCE_DIR) / "sdk/include");
  const auto recorded = history();
  ASSERT_FALSE(recorded.empty()) << "VOIDBOX_ABI_FINGERPRINTS is empty";
  const auto& [last_version, last_hash] = recorded.back();
  EXPECT_TRUE(last_version == version && last_hash == now)
      << "The C ABI headers (plugin_abi.h, abi/*.h) changed, or the version did.\n"
      << "Bump VOIDBOX_ABI_MINOR (fields added at the end of a struct, new kinds or enum values)\n"
      << "or VOIDBOX_ABI_MAJOR (anything else), then append \"<major>.<minor>=<hash>\" to\n"
      << "VOIDBOX_ABI_FINGERPRINTS in plugin_abi.h. For the headers as they are now that is:\n"
      << "  " << version << "=" << now << "\n"
      << "(last recorded: " << last_version << "=" << last_hash << ")";
}

TEST(AbiFingerprint, EveryVersionIsRecordedOnceInOrder) {
  const auto recorded = history();
  for (std::size_t i = 1; i < recorded.size(); ++i) {
    auto parse = [](const std::string& v) {
      const auto dot = v.find('.');
      return std::pair{std::stoul(v.substr(0, dot)), std::stoul(v.substr(dot + 1))};
    };
    EXPECT_LT(parse(recorded[i - 1].first), parse(recorded[i].first))
        << "a released ABI version was edited or repeated: " << recorded[i].first;
  }
}

TEST(AbiFingerprint, IgnoresCommentsAndWhitespaceButNotCode) {
  EXPECT_EQ(normalized("int  a; /* x */\n// y\nint b;"), normalized("int a;\nint b; // z"));
  EXPECT_NE(normalized("int a;"), normalized("long a;"));
  EXPECT_EQ(normalized("#define VOIDBOX_ABI_FINGERPRINTS \"x\"\nint a;"), normalized("int a;"));
}

}  // namespace
