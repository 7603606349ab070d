// One HTTP POST of an OTLP request body over libcurl, abortable from
// another thread so a shutdown never waits out a slow collector.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace voidbox::otlp {

struct PostOutcome {
  bool sent = false;  // a response arrived (any status)
  long status = 0;    // its HTTP status
  std::string error;  // why nothing arrived: connection refused, timeout, aborted
  std::optional<std::chrono::seconds> retry_after;  // the response's Retry-After, in seconds
};

class HttpPoster {
 public:
  HttpPoster();
  ~HttpPoster();
  HttpPoster(const HttpPoster&) = delete;
  HttpPoster& operator=(const HttpPoster&) = delete;

  PostOutcome post(const std::string& url, const char* content_type, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   std::chrono::milliseconds timeout, const std::atomic<bool>& abort);

 private:
  void* curl_;
};

}  // namespace voidbox::otlp
