// Telemetry: samples /proc at the subscribed interval and streams
// TelemetrySample frames until cancelled.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "frame_writer.hpp"
#include "session.hpp"
#include "voidbox/protocol/messages.hpp"

namespace voidbox::agent {

struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

// Parsers for /proc files (exposed for tests). proc_root is "/proc" normally.
std::optional<CpuTimes> parse_proc_stat_cpu(const std::string& stat_text);
std::uint32_t parse_proc_stat_value(const std::string& stat_text, const char* key);
std::uint32_t count_cpus(const std::string& stat_text);
bool parse_meminfo(const std::string& text, std::uint64_t& total, std::uint64_t& available);

class TelemetrySampler {
 public:
  explicit TelemetrySampler(std::string proc_root = "/proc") : proc_(std::move(proc_root)) {}
  protocol::TelemetrySample sample();

 private:
  std::string proc_;
  std::optional<CpuTimes> last_;
  std::uint64_t seq_ = 0;
};

class TelemetrySession : public Session {
 public:
  TelemetrySession(FrameWriter& out, std::uint32_t id, std::uint32_t interval_ms);
  void run() override;
  void on_frame(protocol::Frame& frame) override;
  void cancel() override;

 private:
  FrameWriter& out_;
  std::uint32_t id_;
  std::uint32_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

}  // namespace voidbox::agent
