// A small registry that serves an OCI layout over the distribution API with
// bearer-token auth and injected faults (503s, dropped connections, ignored
// ranges): what docker-registry cannot be made to do on demand.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace voidbox::oci_test {

struct FakeRegistryOptions {
  std::string layout_dir;
  std::string user;  // the token endpoint wants these (basic auth)
  std::string password;
  bool access_token_field = false;  // answer {"access_token"} instead of {"token"}
  int fail_blob_requests = 0;       // answer 503 to the first N blob requests
  size_t drop_after_bytes = 0;      // first full blob response is cut after this many bytes
  size_t drop_min_blob_size = 0;    // ... for blobs at least this large
  bool ignore_range = false;        // answer range requests with the whole blob (200)
};

class FakeRegistry {
 public:
  explicit FakeRegistry(FakeRegistryOptions options);
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  std::atomic<int> token_requests{0};
  std::atomic<int> unauthorized{0};
  std::atomic<int> served_503{0};
  std::atomic<int> range_requests{0};
  std::atomic<int> dropped{0};

  // Body bytes of blob `digest` ("sha256:...") this registry put on the
  // wire, over all its responses: the server's own count, to hold the
  // puller's figures against.
  std::uint64_t blob_bytes_sent(const std::string& digest) const;

 private:
  void accept_loop();
  void serve(int fd);
  void count_blob_bytes(const std::string& digest, size_t n);

  FakeRegistryOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> blob_requests_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;
  // Its own lock: the destructor holds mutex_ while connections finish.
  mutable std::mutex bytes_mutex_;
  std::map<std::string, std::uint64_t> blob_bytes_;
};

}  // namespace voidbox::oci_test
