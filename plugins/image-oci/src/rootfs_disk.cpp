#include "rootfs_disk.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "unique_fd.hpp"

extern char** environ;

namespace voidbox::oci {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

std::string find_mke2fs() {
  for (const char* candidate : {"/usr/sbin/mke2fs", "/sbin/mke2fs", "/usr/bin/mke2fs"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return "mke2fs";
}

}  // namespace

Result<TreeSize> measure_tree(const std::string& dir) {
  TreeSize size;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, std::filesystem::directory_options::none,
                                                   ec);
  if (ec) return fail(VB_ERR_IO, "measure " + dir + ": " + ec.message());
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return fail(VB_ERR_IO, "measure " + dir + ": " + ec.message());
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    ++size.inodes;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
      size.bytes += (static_cast<std::uint64_t>(st.st_size) + 4095) / 4096 * 4096;
    }
  }
  return size;
}

std::uint64_t disk_size_for(const TreeSize& tree) {
  std::uint64_t bytes = tree.bytes + tree.bytes * 35 / 100 + 16 * kMiB + tree.inodes * 256;
  bytes = (bytes + kMiB - 1) / kMiB * kMiB;
  return std::max<std::uint64_t>(bytes, 64 * kMiB);
}

Result<std::uint64_t> make_ext4_image(const std::string& rootfs_dir,
                                      const std::string& image_path) {
  auto tree = measure_tree(rootfs_dir);
  if (!tree) return std::unexpected(tree.error());
  const std::uint64_t size = disk_size_for(*tree);
  {
    UniqueFd fd(::open(image_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      return fail(VB_ERR_IO, "create " + image_path + ": " + std::strerror(errno));
    }
  }
  const std::string inodes = std::to_string(tree->inodes + tree->inodes / 4 + 1024);
  const std::string mke2fs = find_mke2fs();
  // Read-only root: no journal, no reserved blocks.
  std::vector<std::string> args = {mke2fs,         "-q", "-F",       "-t",      "ext4", "-O",
                                   "^has_journal", "-m", "0",        "-N",      inodes, "-L",
                                   "voidbox-root", "-d", rootfs_dir, image_path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return fail(VB_ERR_IO, "pipe: " + std::string(std::strerror(errno)));
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, mke2fs.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (rc != 0) {
    ::unlink(image_path.c_str());
    return fail(VB_ERR_UNSUPPORTED,
                "cannot run mke2fs (install e2fsprogs): " + std::string(std::strerror(rc)));
  }
  std::string output;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 16384) output.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::unlink(image_path.c_str());
    return fail(VB_ERR_IO, "mke2fs failed for " + image_path + ": " + output);
  }
  return size;
}

}  // namespace voidbox::oci
