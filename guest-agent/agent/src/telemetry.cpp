#include "telemetry.hpp"

#include <dirent.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace voidbox::agent {

namespace pr = protocol;

namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  text.resize(64u << 10);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::uint32_t count_processes(const std::string& proc) {
  std::uint32_t n = 0;
  if (DIR* d = ::opendir(proc.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const char* s = e->d_name;
      if (*s < '1' || *s > '9') continue;
      bool digits = true;
      for (; *s; ++s) digits = digits && (*s >= '0' && *s <= '9');
      if (digits) ++n;
    }
    ::closedir(d);
  }
  return n;
}

}  // namespace

std::optional<CpuTimes> parse_proc_stat_cpu(const std::string& text) {
  std::istringstream in(text);
  std::string label;
  if (!(in >> label) || label != "cpu") return std::nullopt;
  std::uint64_t v[8] = {};
  for (auto& x : v)
    if (!(in >> x)) break;
  // user nice system idle iowait irq softirq steal
  CpuTimes t;
  for (auto x : v) t.total += x;
  t.busy = t.total - v[3] - v[4];
  return t;
}

std::uint32_t parse_proc_stat_value(const std::string& text, const char* key) {
  std::istringstream in(text);
  std::string line;
  const std::string k = std::string(key) + " ";
  while (std::getline(in, line))
    if (line.rfind(k, 0) == 0)
      return static_cast<std::uint32_t>(std::strtoul(line.c_str() + k.size(), nullptr, 10));
  return 0;
}

std::uint32_t count_cpus(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::uint32_t n = 0;
  while (std::getline(in, line))
    if (line.size() > 3 && line.rfind("cpu", 0) == 0 && line[3] >= '0' && line[3] <= '9') ++n;
  return n;
}

bool parse_meminfo(const std::string& text, std::uint64_t& total, std::uint64_t& available) {
  std::istringstream in(text);
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  bool have_total = false, have_avail = false;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemTotal:") {
      total = kb * 1024;
      have_total = true;
    } else if (key == "MemAvailable:") {
      available = kb * 1024;
      have_avail = true;
    }
  }
  return have_total && have_avail;
}

pr::TelemetrySample TelemetrySampler::sample() {
  pr::TelemetrySample s;
  s.seq = ++seq_;
  s.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string stat = read_small_file(proc_ + "/stat");
  if (auto now = parse_proc_stat_cpu(stat)) {
    if (last_ && now->total > last_->total)
      s.cpu_percent = 100.0 * static_cast<double>(now->busy - last_->busy) /
                      static_cast<double>(now->total - last_->total);
    last_ = now;
  }
  s.cpu_count = count_cpus(stat);
  s.procs_running = parse_proc_stat_value(stat, "procs_running");
  parse_meminfo(read_small_file(proc_ + "/meminfo"), s.mem_total_bytes, s.mem_available_bytes);
  s.mem_used_bytes =
      s.mem_total_bytes > s.mem_available_bytes ? s.mem_total_bytes - s.mem_available_bytes : 0;
  s.procs = count_processes(proc_);
  s.load1 = std::strtod(read_small_file(proc_ + "/loadavg").c_str(), nullptr);
  return s;
}

TelemetrySession::TelemetrySession(FrameWriter& out, std::uint32_t id, std::uint32_t interval_ms)
    : out_(out), id_(id), interval_ms_(std::max<std::uint32_t>(interval_ms, 100)) {}

void TelemetrySession::run() {
  TelemetrySampler sampler;
  sampler.sample();  // primes the CPU counters
  std::unique_lock lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return cancelled_; }))
      break;
    lock.unlock();
    const bool ok = out_.send(pr::make_frame(id_, sampler.sample()));
    lock.lock();
    if (!ok) return;
  }
  lock.unlock();
  out_.send(pr::encode_frame(pr::MessageType::Ok, 0, id_, std::string_view("{}")));
}

void TelemetrySession::on_frame(pr::Frame& f) {
  if (f.type == pr::MessageType::Cancel) cancel();
}

void TelemetrySession::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

}  // namespace voidbox::agent
