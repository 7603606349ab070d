#include "batch_exporter.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace voidbox::otlp {
namespace {

using Clock = std::chrono::steady_clock;

// After a batch found the collector unreachable, later batches within this
// window are dropped without a connection attempt, so a dead collector
// costs a run nothing at its final flush.
constexpr auto kUnreachableBackoff = std::chrono::seconds(5);
constexpr auto kFirstRetryDelay = std::chrono::milliseconds(250);
constexpr auto kMaxRetryDelay = std::chrono::seconds(30);

bool retryable(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

BatchExporter::BatchExporter(Config config, Sender sender, Logger warn)
    : config_(std::move(config)), sender_(std::move(sender)), warn_(std::move(warn)) {
  origin_.resource = config_.resource;
  origin_.scope_name = "voidbox";
  origin_.scope_version = "1";
  worker_ = std::thread([this] { run(); });
}

BatchExporter::~BatchExporter() {
  // A flush that already gave up is not waited out a second time.
  bool gave_up = false;
  {
    std::lock_guard lock(mu_);
    gave_up = gave_up_;
  }
  const bool drained = !gave_up && flush();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (!drained) abort_ = true;
  }
  wake_.notify_all();
  worker_.join();
  const ExportCounts c = counts_;
  if (c.dropped_full + c.dropped_failed + queue_.size() > 0 && warn_) {
    warn_("exporter-otlp: " + std::to_string(c.sent) + " records sent, " +
          std::to_string(c.dropped_full) + " dropped (queue full), " +
          std::to_string(c.dropped_failed + queue_.size()) + " lost (collector)");
  }
}

void BatchExporter::add(Record record) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= config_.queue_size) {
      ++counts_.dropped_full;
      if (warned_.insert("full").second && warn_) {
        warn_("exporter-otlp: queue full (" + std::to_string(config_.queue_size) +
              " records); dropping telemetry");
      }
      return;
    }
    if (queue_.empty()) oldest_ = Clock::now();
    queue_.push_back(std::move(record));
    if (queue_.size() < config_.batch_size) return;
  }
  wake_.notify_one();
}

bool BatchExporter::flush() {
  std::unique_lock lock(mu_);
  ++flushes_waiting_;
  wake_.notify_one();
  const bool done =
      drained_.wait_for(lock, config_.flush_timeout, [&] { return queue_.empty() && !busy_; });
  --flushes_waiting_;
  if (!done) gave_up_ = true;
  return done;
}

ExportCounts BatchExporter::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void BatchExporter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    const bool due =
        !queue_.empty() && (queue_.size() >= config_.batch_size || flushes_waiting_ > 0 ||
                            stopping_ || Clock::now() >= oldest_ + config_.batch_delay);
    if (!due) {
      if (stopping_ || abort_) break;
      if (queue_.empty()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, oldest_ + config_.batch_delay);
      }
      continue;
    }
    if (abort_) break;
    std::deque<Record> batch;
    const std::size_t n = std::min(queue_.size(), config_.batch_size);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    oldest_ = Clock::now();
    busy_ = true;
    lock.unlock();
    send_batch(std::move(batch));
    lock.lock();
    busy_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

void BatchExporter::send_batch(std::deque<Record> batch) {
  std::vector<Span> spans;
  std::vector<Metric> metrics;
  std::vector<LogRecord> logs;
  for (auto& r : batch) {
    if (auto* s = std::get_if<Span>(&r)) {
      spans.push_back(std::move(*s));
    } else if (auto* m = std::get_if<Metric>(&r)) {
      metrics.push_back(std::move(*m));
    } else {
      logs.push_back(std::move(std::get<LogRecord>(r)));
    }
  }
  if (!spans.empty()) {
    deliver(config_.traces_url, encode_spans(spans, origin_, config_.encoding), spans.size());
  }
  if (!metrics.empty()) {
    deliver(config_.metrics_url, encode_metrics(metrics, origin_, config_.encoding),
            metrics.size());
  }
  if (!logs.empty()) {
    deliver(config_.logs_url, encode_logs(logs, origin_, config_.encoding), logs.size());
  }
}

void BatchExporter::deliver(const std::string& url, const std::string& body,
                            std::uint64_t records) {
  const char* type =
      config_.encoding == Encoding::json ? "application/json" : "application/x-protobuf";
  auto lost = [&] {
    std::lock_guard lock(mu_);
    counts_.dropped_failed += records;
  };
  {
    std::lock_guard lock(mu_);
    if (Clock::now() < unreachable_until_) {
      counts_.dropped_failed += records;
      return;
    }
  }
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstRetryDelay);
  for (int attempt = 1;; ++attempt) {
    if (abort_) return lost();
    PostOutcome out = sender_(url, type, body, abort_);
    if (!out.sent) {
      {
        std::lock_guard lock(mu_);
        unreachable_until_ = Clock::now() + kUnreachableBackoff;
      }
      warn_once("unreachable", "exporter-otlp: cannot reach the OTLP collector at " + url + ": " +
                                   out.error + " (telemetry is dropped; the run goes on)");
      return lost();
    }
    if (out.status >= 200 && out.status < 300) {
      std::lock_guard lock(mu_);
      counts_.sent += records;
      return;
    }
    if (!retryable(out.status) || attempt >= config_.max_attempts) {
      warn_once("status " + std::to_string(out.status),
                "exporter-otlp: the OTLP collector at " + url + " answered HTTP " +
                    std::to_string(out.status) + "; dropping the batch");
      return lost();
    }
    auto wait = out.retry_after
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::min<std::chrono::seconds>(*out.retry_after, kMaxRetryDelay))
                    : delay;
    delay = std::min<std::chrono::milliseconds>(delay * 2, kMaxRetryDelay);
    std::unique_lock lock(mu_);
    ++counts_.retries;
    // Only an abort cuts the wait: a flush waits for the retry, within its own bound.
    wake_.wait_for(lock, wait, [&] { return abort_.load(); });
  }
}

void BatchExporter::warn_once(const std::string& key, const std::string& message) {
  {
    std::lock_guard lock(mu_);
    if (!warned_.insert(key).second) return;
  }
  if (warn_) warn_(message);
}

}  // namespace voidbox::otlp
