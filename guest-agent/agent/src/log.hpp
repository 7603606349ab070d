// Agent logging. As PID 1 the agent logs only to /dev/kmsg: writing to the
// console can block in the tty layer and stall the whole guest. In process
// mode it logs to stderr, which the runtime captures.
#pragma once

#include <string_view>

namespace voidbox::agent {

enum class LogLevel { Error = 3, Warning = 4, Info = 6, Debug = 7 };

enum class LogSink { Kmsg, Stderr, None };

void log_init(LogSink sink, bool debug);
void log_message(LogLevel level, std::string_view text);

// printf-style convenience; messages longer than 1 KiB are truncated.
void logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define VB_LOG_INFO(...) ::voidbox::agent::logf(::voidbox::agent::LogLevel::Info, __VA_ARGS__)
#define VB_LOG_WARN(...) ::voidbox::agent::logf(::voidbox::agent::LogLevel::Warning, __VA_ARGS__)
#define VB_LOG_ERROR(...) ::voidbox::agent::logf(::voidbox::agent::LogLevel::Error, __VA_ARGS__)
#define VB_LOG_DEBUG(...) ::voidbox::agent::logf(::voidbox::agent::LogLevel::Debug, __VA_ARGS__)

}  // namespace voidbox::agent
