#include "registry_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process.hpp"

namespace voidbox::oci_test {
namespace {

bool port_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

RegistryServer::RegistryServer(const std::string& work_dir, const std::string& user,
                               const std::string& password) {
  std::filesystem::create_directories(work_dir + "/storage");
  port_ = free_loopback_port();
  std::ofstream config(work_dir + "/config.yml");
  config << "version: 0.1\n"
         << "log:\n  level: error\n  accesslog:\n    disabled: true\n"
         << "storage:\n  filesystem:\n    rootdirectory: " << work_dir << "/storage\n"
         << "  delete:\n    enabled: true\n"
         << "http:\n  addr: 127.0.0.1:" << port_ << "\n";
  if (!user.empty()) {
    auto htpasswd = run({"htpasswd", "-Bbn", user, password});
    if (htpasswd.exit_code != 0) {
      error_ = "htpasswd failed: " + htpasswd.err;
      return;
    }
    std::ofstream(work_dir + "/htpasswd") << htpasswd.out;
    config << "auth:\n  htpasswd:\n    realm: voidbox-test\n    path: " << work_dir
           << "/htpasswd\n";
  }
  config.close();
  SpawnOptions options;
  options.stderr_path = work_dir + "/registry.log";
  options.stdout_path = work_dir + "/registry.out";
  pid_ = spawn({"/usr/bin/docker-registry", "serve", work_dir + "/config.yml"}, options);
  // Wait for the listener (the registry has no readiness signal of its own).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!port_accepts(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "docker-registry exited: " + read_file(work_dir + "/registry.log");
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      error_ = "docker-registry did not listen within 20 s";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RegistryServer::~RegistryServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_);
  }
}

}  // namespace voidbox::oci_test
