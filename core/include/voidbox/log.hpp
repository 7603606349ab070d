// Logging for the runtime and its plugins.
//
//   VB_LOG(info) << "booted " << name << " in " << ms << " ms";
//   VB_LOG_TO(warn, "images") << "cache miss for " << ref;
//
// A disabled level costs one relaxed atomic load; the message is only
// formatted when it will be written. Until init() runs, info and above go to
// stderr in human form.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace voidbox::log {

enum class Level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };
enum class Format { human, json };

struct Options {
  Level level = Level::info;
  Format format = Format::human;
  // Empty: stderr. Otherwise <dir>/voidbox.log, rotated when it reaches
  // rotate_bytes, keeping at most keep_files rotated files.
  std::filesystem::path dir;
  std::uintmax_t rotate_bytes = 10u * 1024 * 1024;
  unsigned keep_files = 5;
};

// "trace", "debug", "info", "warn"/"warning", "error" (case-insensitive).
std::optional<Level> parse_level(std::string_view text);
std::string_view level_name(Level level) noexcept;

// Replaces the sinks; safe to call again to reconfigure. Throws
// std::runtime_error when the log directory cannot be created or opened.
void init(const Options& options);

bool enabled(Level level) noexcept;
void write(Level level, std::string_view component, std::string_view message) noexcept;
// Flushes file sinks (e.g. before exit or in tests).
void flush() noexcept;

// Collects one message and writes it when destroyed.
class Line {
 public:
  Line(Level level, std::string_view component) : level_(level), component_(component) {}
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line() { write(level_, component_, stream_.view()); }
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  std::string_view component_;
  std::ostringstream stream_;
};

}  // namespace voidbox::log

#define VB_LOG_TO(level, component)                             \
  if (!::voidbox::log::enabled(::voidbox::log::Level::level)) { \
  } else                                                        \
    ::voidbox::log::Line(::voidbox::log::Level::level, component).stream()

#define VB_LOG(level) VB_LOG_TO(level, "voidbox")
