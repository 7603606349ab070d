#include "process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace voidbox::oci_test {

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (options.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
  }
  for (const auto& kv : options.env) {
    auto eq = kv.find('=');
    std::string name = kv.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (value.empty())
      ::unsetenv(name.c_str());
    else
      ::setenv(name.c_str(), value.c_str(), 1);
  }
  int out = ::open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int in = ::open("/dev/null", O_RDONLY);
  if (out < 0 || err < 0 || in < 0) ::_exit(126);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ProcessResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  static std::atomic<int> counter{0};
  std::string base =
      (std::filesystem::temp_directory_path() /
       ("vb-oci-run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
          .string();
  SpawnOptions options;
  options.env = env;
  options.stdout_path = base + ".out";
  options.stderr_path = base + ".err";
  ProcessResult result;
  result.exit_code = wait_exit(spawn(argv, options));
  result.out = read_file(options.stdout_path);
  result.err = read_file(options.stderr_path);
  std::filesystem::remove(options.stdout_path);
  std::filesystem::remove(options.stderr_path);
  return result;
}

}  // namespace voidbox::oci_test
