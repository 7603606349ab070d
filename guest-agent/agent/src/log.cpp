#include "log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace voidbox::agent {

namespace {
std::atomic<int> g_fd{-1};
std::atomic<bool> g_debug{false};
}  // namespace

void log_init(LogSink sink, bool debug) {
  g_debug = debug;
  switch (sink) {
    case LogSink::Kmsg:
      g_fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
      break;
    case LogSink::Stderr:
      g_fd = STDERR_FILENO;
      break;
    case LogSink::None:
      g_fd = -1;
      break;
  }
}

void log_message(LogLevel level, std::string_view text) {
  if (level == LogLevel::Debug && !g_debug) return;
  const int fd = g_fd.load();
  if (fd < 0) return;
  // One write per line: /dev/kmsg takes one record per write, and stderr lines
  // from concurrent threads stay whole.
  std::string line = "<" + std::to_string(static_cast<int>(level)) + ">voidbox-agent: ";
  line.append(text.substr(0, 1024));
  if (line.back() != '\n') line.push_back('\n');
  [[maybe_unused]] ssize_t n = ::write(fd, line.data(), line.size());
}

void logf(LogLevel level, const char* fmt, ...) {
  if (level == LogLevel::Debug && !g_debug) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_message(level, buf);
}

}  // namespace voidbox::agent
