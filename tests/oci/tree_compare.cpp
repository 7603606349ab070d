#include "tree_compare.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "digest.hpp"

namespace voidbox::oci_test {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> describe(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::string d;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      d = std::string("dir ") + mode;
    } else if (S_ISLNK(st.st_mode)) {
      d = "symlink -> " + fs::read_symlink(it->path()).string();
    } else if (S_ISREG(st.st_mode)) {
      auto hash = voidbox::oci::sha256_of_file(it->path().string());
      d = std::string("file ") + mode + " " + std::to_string(st.st_size) + " " +
          (hash ? *hash : "unreadable");
    } else {
      d = std::string("special ") + mode;
    }
    out[rel] = d;
  }
  return out;
}

}  // namespace

std::vector<std::string> compare_trees(const std::string& expected, const std::string& actual) {
  auto want = describe(expected);
  auto got = describe(actual);
  std::vector<std::string> diffs;
  for (const auto& [path, d] : want) {
    auto it = got.find(path);
    if (it == got.end())
      diffs.push_back("missing " + path + " (" + d + ")");
    else if (it->second != d)
      diffs.push_back(path + ": expected " + d + ", got " + it->second);
  }
  for (const auto& [path, d] : got) {
    if (!want.contains(path)) diffs.push_back("unexpected " + path + " (" + d + ")");
  }
  return diffs;
}

}  // namespace voidbox::oci_test
