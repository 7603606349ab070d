// The exporter's engine: records go into a bounded queue (a full queue
// drops and counts, it never blocks the caller) and one background thread
// sends them in batches, one request per signal, retrying 429/502/503/504
// with exponential backoff or the collector's Retry-After. A collector that
// cannot be reached is reported once; batches for it are dropped and counted
// so the run never waits on it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "http_post.hpp"
#include "otlp_config.hpp"
#include "otlp_model.hpp"

namespace voidbox::otlp {

// Sends one request body; the production one is an HttpPoster.
using Sender = std::function<PostOutcome(const std::string& url, const char* content_type,
                                         const std::string& body, const std::atomic<bool>& abort)>;
using Logger = std::function<void(const std::string&)>;

struct ExportCounts {
  std::uint64_t sent = 0;            // records the collector accepted
  std::uint64_t dropped_full = 0;    // refused because the queue was full
  std::uint64_t dropped_failed = 0;  // lost to an unreachable or refusing collector
  std::uint64_t retries = 0;
};

class BatchExporter {
 public:
  BatchExporter(Config config, Sender sender, Logger warn);
  ~BatchExporter();  // drains (bounded by flush_timeout), then stops the thread
  BatchExporter(const BatchExporter&) = delete;
  BatchExporter& operator=(const BatchExporter&) = delete;

  void add(Record record);
  // Waits until everything queued so far was sent or dropped, at most
  // flush_timeout. False: it timed out with records still queued.
  bool flush();
  ExportCounts counts() const;

 private:
  void run();
  void send_batch(std::deque<Record> batch);
  void deliver(const std::string& url, const std::string& body, std::uint64_t records);
  void warn_once(const std::string& key, const std::string& message);

  const Config config_;
  const Sender sender_;
  const Logger warn_;
  Origin origin_;

  mutable std::mutex mu_;
  std::condition_variable wake_;     // the worker: records, a flush, a stop
  std::condition_variable drained_;  // flush(): the queue emptied
  std::deque<Record> queue_;
  std::chrono::steady_clock::time_point oldest_{};
  bool busy_ = false;
  unsigned flushes_waiting_ = 0;
  bool stopping_ = false;
  bool gave_up_ = false;  // a flush timed out
  std::atomic<bool> abort_{false};
  std::chrono::steady_clock::time_point unreachable_until_{};
  std::set<std::string> warned_;
  ExportCounts counts_;
  std::thread worker_;
};

}  // namespace voidbox::otlp
