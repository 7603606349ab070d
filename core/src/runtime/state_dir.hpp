// A private, empty directory per VM for its sockets and logs, removed when
// the sandbox ends (kept when VOIDBOX_KEEP_STATE=1, for debugging).
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>

namespace voidbox::runtime {

class StateDir {
 public:
  // Under `root` when given, else $XDG_RUNTIME_DIR/voidbox, else
  // /tmp/voidbox-<uid>; keep it short, because Unix socket paths are limited
  // to 107 bytes.
  static std::expected<StateDir, std::string> create(
      const std::string& label, const std::optional<std::filesystem::path>& root = {});

  StateDir(StateDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  StateDir& operator=(StateDir&&) = delete;
  StateDir(const StateDir&) = delete;
  ~StateDir();

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit StateDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

}  // namespace voidbox::runtime
