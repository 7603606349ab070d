// Child processes for the registry tests: the registry, skopeo, umoci and voidbox.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace voidbox::oci_test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

struct SpawnOptions {
  std::vector<std::string> env;  // "NAME=value" set (or "NAME=" cleared) in the child
  std::string stdout_path = "/dev/null";
  std::string stderr_path = "/dev/null";
  bool die_with_parent = true;
};

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options);
int wait_exit(pid_t pid);
// Runs to completion, capturing output through files in $TMPDIR.
ProcessResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
std::string read_file(const std::string& path);

}  // namespace voidbox::oci_test
