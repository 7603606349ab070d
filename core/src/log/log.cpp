// Boost.Log behind voidbox/log.hpp: one channel logger, a level filter, and a
// human or JSON-lines sink on stderr or a size-rotated file.
#include "voidbox/log.hpp"

#include <atomic>
#include <boost/core/null_deleter.hpp>
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions/message.hpp>
#include <boost/log/keywords/auto_flush.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_file_backend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace voidbox::log {
namespace {

namespace bl = boost::log;

std::atomic<int> g_threshold{static_cast<int>(Level::info)};

using Logger = bl::sources::severity_channel_logger_mt<int, std::string>;

Logger& logger() {
  static Logger instance;
  return instance;
}

std::string timestamp(const bl::record_view& rec) {
  auto value = bl::extract<boost::posix_time::ptime>("TimeStamp", rec);
  if (!value) return "-";
  const boost::posix_time::ptime& ts = *value;
  const auto date = ts.date();
  const auto tod = ts.time_of_day();
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<int>(date.month()),
                static_cast<int>(date.day()), static_cast<int>(tod.hours()),
                static_cast<int>(tod.minutes()), static_cast<int>(tod.seconds()),
                static_cast<int>(tod.total_milliseconds() % 1000));
  return text;
}

Level record_level(const bl::record_view& rec) {
  auto value = bl::extract<int>("Severity", rec);
  return value ? static_cast<Level>(*value) : Level::info;
}

std::string record_channel(const bl::record_view& rec) {
  auto value = bl::extract<std::string>("Channel", rec);
  return value ? *value : std::string();
}

void append_json_string(bl::formatting_ostream& os, std::string_view text) {
  os << '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        os << "\\\"";
        break;
      case '\\':
        os << "\\\\";
        break;
      case '\n':
        os << "\\n";
        break;
      case '\r':
        os << "\\r";
        break;
      case '\t':
        os << "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          os << escaped;
        } else {
          os << static_cast<char>(c);
        }
    }
  }
  os << '"';
}

void format_human(const bl::record_view& rec, bl::formatting_ostream& os) {
  std::string level(level_name(record_level(rec)));
  for (char& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  level.resize(5, ' ');
  os << timestamp(rec) << ' ' << level << " [" << record_channel(rec) << "] "
     << rec[bl::expressions::smessage];
}

void format_json(const bl::record_view& rec, bl::formatting_ostream& os) {
  os << "{\"ts\":\"" << timestamp(rec) << "\",\"level\":\"" << level_name(record_level(rec))
     << "\",\"component\":";
  append_json_string(os, record_channel(rec));
  os << ",\"msg\":";
  auto message = rec[bl::expressions::smessage];
  append_json_string(os, message ? std::string_view(*message) : std::string_view());
  os << '}';
}

void install(const Options& options) {
  auto core = bl::core::get();
  core->remove_all_sinks();
  core->add_global_attribute("TimeStamp", bl::attributes::utc_clock());

  auto formatter = options.format == Format::json ? &format_json : &format_human;
  if (options.dir.empty()) {
    auto backend = boost::make_shared<bl::sinks::text_ostream_backend>();
    backend->add_stream(boost::shared_ptr<std::ostream>(&std::clog, boost::null_deleter()));
    backend->auto_flush(true);
    auto sink =
        boost::make_shared<bl::sinks::synchronous_sink<bl::sinks::text_ostream_backend>>(backend);
    sink->set_formatter(formatter);
    core->add_sink(sink);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) {
      throw std::runtime_error("cannot create log directory " + options.dir.string() + ": " +
                               ec.message());
    }
    namespace kw = bl::keywords;
    auto backend = boost::make_shared<bl::sinks::text_file_backend>(
        kw::file_name = (options.dir / "voidbox.log").string(),
        kw::target_file_name = "voidbox.%Y%m%d-%H%M%S.%N.log",
        kw::open_mode = std::ios_base::out | std::ios_base::app,
        kw::rotation_size = options.rotate_bytes, kw::auto_flush = true,
        kw::enable_final_rotation = false);
    backend->set_file_collector(bl::sinks::file::make_collector(
        kw::target = options.dir.string(), kw::max_files = options.keep_files));
    backend->scan_for_files();
    auto sink =
        boost::make_shared<bl::sinks::synchronous_sink<bl::sinks::text_file_backend>>(backend);
    sink->set_formatter(formatter);
    core->add_sink(sink);
  }
  g_threshold.store(static_cast<int>(options.level), std::memory_order_relaxed);
}

// Messages logged before main() calls init() still need a sink.
void ensure_default() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (bl::core::get()->get_logging_enabled()) install(Options{});
  });
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "trace") return Level::trace;
  if (lower == "debug") return Level::debug;
  if (lower == "info") return Level::info;
  if (lower == "warn" || lower == "warning") return Level::warn;
  if (lower == "error") return Level::error;
  return std::nullopt;
}

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

void init(const Options& options) {
  ensure_default();
  install(options);
}

bool enabled(Level level) noexcept {
  return static_cast<int>(level) >= g_threshold.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view component, std::string_view message) noexcept {
  if (!enabled(level)) return;
  try {
    ensure_default();
    Logger& lg = logger();
    bl::record rec = lg.open_record((bl::keywords::severity = static_cast<int>(level),
                                     bl::keywords::channel = std::string(component)));
    if (!rec) return;
    {
      bl::record_ostream stream(rec);
      stream << message;
      stream.flush();
    }
    lg.push_record(std::move(rec));
  } catch (...) {
    // Logging must never take the caller down.
  }
}

void flush() noexcept {
  try {
    bl::core::get()->flush();
  } catch (...) {
  }
}

}  // namespace voidbox::log
