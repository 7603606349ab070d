// Path handling that cannot leave a root directory: entry names are
// normalised (".." refused, absolute names rooted), parents are resolved with
// openat2(RESOLVE_BENEATH) so a symlink pointing out of the root (absolute or
// "../..") is refused instead of followed, and the final component is always
// operated on with *at() calls that do not follow it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"
#include "unique_fd.hpp"

namespace voidbox::oci {

// Splits an archive entry name into components: leading "/" and "./" are
// dropped, "." and empty components skipped, ".." refused. An empty result
// means the root itself.
Result<std::vector<std::string>> normalize_entry_path(std::string_view name);

std::string join_components(const std::vector<std::string>& parts, size_t count);

enum class WhiteoutKind { none, file, opaque };
// ".wh..wh..opq" -> opaque; ".wh.<name>" -> file with *target = name.
WhiteoutKind classify_whiteout(std::string_view leaf, std::string* target);

class ConfinedRoot {
 public:
  // Opens (creating if missing) the root directory.
  static Result<ConfinedRoot> open(const std::string& path);

  int fd() const { return root_.get(); }

  // Opens the directory made of the first `count` components, creating
  // missing directories (mode 0700: final modes are applied later). Fails if
  // resolution would leave the root or cross a non-directory.
  Result<UniqueFd> open_dir(const std::vector<std::string>& parts, size_t count, bool create) const;

 private:
  UniqueFd root_;
};

// Removes `name` under `dirfd` (a whole tree if it is a directory) without
// following symlinks. A missing entry is not an error.
Result<void> remove_tree(int dirfd, const std::string& name);

}  // namespace voidbox::oci
