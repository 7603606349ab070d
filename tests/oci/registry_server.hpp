// Debian's docker-registry (distribution v2) on loopback, optionally behind
// htpasswd basic auth, killed when the object goes away (or the test dies).
#pragma once

#include <sys/types.h>

#include <string>

namespace voidbox::oci_test {

class RegistryServer {
 public:
  // Empty user: no authentication.
  RegistryServer(const std::string& work_dir, const std::string& user, const std::string& password);
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& error() const { return error_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
};

int free_loopback_port();

}  // namespace voidbox::oci_test
