#include "voidbox/protocol/messages.hpp"

#include <array>
#include <utility>

#include "json_fields.hpp"

namespace voidbox::protocol {

using detail::Obj;
using detail::read;

namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 13> kErrorNames{{
    {ErrorCode::BadRequest, "bad_request"},
    {ErrorCode::Unauthorized, "unauthorized"},
    {ErrorCode::UnsupportedVersion, "unsupported_version"},
    {ErrorCode::UnsupportedType, "unsupported_type"},
    {ErrorCode::NotAllowed, "not_allowed"},
    {ErrorCode::NotFound, "not_found"},
    {ErrorCode::PermissionDenied, "permission_denied"},
    {ErrorCode::OutsideRoot, "outside_root"},
    {ErrorCode::TooLarge, "too_large"},
    {ErrorCode::Busy, "busy"},
    {ErrorCode::SpawnFailed, "spawn_failed"},
    {ErrorCode::Io, "io"},
    {ErrorCode::Internal, "internal"},
}};

std::string text(const Obj& o) {
  return boost::json::serialize(o);
}

// Chains field reads; the first failure wins.
#define VB_READ(obj, key, field)                                                  \
  do {                                                                            \
    if (auto r_ = read(obj, key, field); !r_) return std::unexpected(r_.error()); \
  } while (0)

#define VB_PARSE(obj, json)                              \
  auto parsed_ = detail::parse_object(json);             \
  if (!parsed_) return std::unexpected(parsed_.error()); \
  const Obj& obj = *parsed_

std::expected<void, ProtocolError> require_nonempty(std::string_view field, const std::string& v) {
  if (v.empty()) return std::unexpected(detail::bad(field, "required"));
  return {};
}

}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [c, n] : kErrorNames)
    if (c == code) return n;
  return "internal";
}

std::optional<ErrorCode> error_code_from_string(std::string_view s) {
  for (const auto& [c, n] : kErrorNames)
    if (n == s) return c;
  return std::nullopt;
}

// ---- encoders ----

std::string encode(const ErrorInfo& m) {
  Obj o{{"code", to_string(m.code)}, {"message", m.message}, {"fatal", m.fatal}};
  if (m.sys_errno != 0) o["errno"] = m.sys_errno;
  return text(o);
}

std::string encode(const Hello& m) {
  return text(Obj{{"magic", kHelloMagic},
                  {"min_version", m.min_version},
                  {"max_version", m.max_version},
                  {"secret", m.secret_hex},
                  {"features", detail::to_array(m.features)}});
}

std::string encode(const HelloAck& m) {
  const Capabilities& c = m.capabilities;
  Obj caps{{"pid1", c.pid1},
           {"process_mode", c.process_mode},
           {"exec_uid", c.exec_uid},
           {"exec_gid", c.exec_gid},
           {"dropped_privileges", c.dropped_privileges},
           {"max_execs", c.max_execs},
           {"max_ptys", c.max_ptys},
           {"max_data_chunk", c.max_data_chunk},
           {"stdin_window", c.stdin_window},
           {"file_roots", detail::to_array(c.file_roots)},
           {"mount_errors", detail::to_array(c.mount_errors)}};
  return text(Obj{{"version", m.version},
                  {"features", detail::to_array(m.features)},
                  {"agent_version", m.agent_version},
                  {"kernel_release", m.kernel_release},
                  {"capabilities", std::move(caps)}});
}

std::string encode(const ExecStart& m) {
  Obj o{{"program", m.program},
        {"args", detail::to_array(m.args)},
        {"env", detail::to_object(m.env)},
        {"timeout_ms", m.timeout_ms},
        {"stdin", m.stdin_open}};
  if (!m.cwd.empty()) o["cwd"] = m.cwd;
  return text(o);
}

std::string encode(const ExecStarted& m) {
  return text(Obj{{"pid", m.pid}});
}

std::string encode(const ExecExit& m) {
  Obj o{{"exit_code", m.exit_code},       {"signal", m.signal},
        {"timed_out", m.timed_out},       {"duration_ms", m.duration_ms},
        {"stdout_bytes", m.stdout_bytes}, {"stderr_bytes", m.stderr_bytes}};
  if (!m.error.empty()) o["error"] = m.error;
  return text(o);
}

std::string encode(const ExecKill& m) {
  return text(Obj{{"signal", m.signal}});
}

std::string encode(const FileWrite& m) {
  return text(Obj{{"path", m.path},
                  {"mode", m.mode},
                  {"create_parents", m.create_parents},
                  {"append", m.append}});
}

std::string encode(const FileRead& m) {
  return text(Obj{{"path", m.path}, {"offset", m.offset}, {"max", m.max}});
}

std::string encode(const StatRequest& m) {
  return text(Obj{{"path", m.path}});
}

std::string encode(const StatResult& m) {
  Obj o{{"exists", m.exists}};
  if (m.exists) {
    o["kind"] = m.kind;
    o["size"] = m.size;
    o["mode"] = m.mode;
    o["uid"] = m.uid;
    o["gid"] = m.gid;
    o["mtime_ms"] = m.mtime_ms;
  }
  return text(o);
}

std::string encode(const Mkdir& m) {
  return text(Obj{{"path", m.path}, {"mode", m.mode}, {"parents", m.parents}});
}

std::string encode(const SetAllowlist& m) {
  return text(Obj{{"commands", detail::to_array(m.commands)}});
}

std::string encode(const Limits& m) {
  Obj o;
  if (m.nofile) o["nofile"] = *m.nofile;
  if (m.nproc) o["nproc"] = *m.nproc;
  if (m.fsize_bytes) o["fsize_bytes"] = *m.fsize_bytes;
  if (m.max_execs) o["max_execs"] = *m.max_execs;
  if (m.max_ptys) o["max_ptys"] = *m.max_ptys;
  return text(o);
}

std::string encode(const TelemetrySubscribe& m) {
  return text(Obj{{"interval_ms", m.interval_ms}});
}

std::string encode(const TelemetrySample& m) {
  return text(Obj{{"seq", m.seq},
                  {"timestamp_ms", m.timestamp_ms},
                  {"cpu_percent", m.cpu_percent},
                  {"cpu_count", m.cpu_count},
                  {"mem_total_bytes", m.mem_total_bytes},
                  {"mem_available_bytes", m.mem_available_bytes},
                  {"mem_used_bytes", m.mem_used_bytes},
                  {"procs", m.procs},
                  {"procs_running", m.procs_running},
                  {"load1", m.load1}});
}

std::string encode(const PtyOpen& m) {
  Obj o{{"program", m.program},
        {"args", detail::to_array(m.args)},
        {"env", detail::to_object(m.env)},
        {"cols", m.cols},
        {"rows", m.rows}};
  if (!m.cwd.empty()) o["cwd"] = m.cwd;
  return text(o);
}

std::string encode(const PtyOpened& m) {
  return text(Obj{{"pid", m.pid}});
}

std::string encode(const PtyResize& m) {
  return text(Obj{{"cols", m.cols}, {"rows", m.rows}});
}

std::vector<std::uint8_t> make_error_frame(std::uint32_t request_id, ErrorCode code,
                                           std::string_view message, int sys_errno) {
  ErrorInfo e;
  e.code = code;
  e.message = std::string(message);
  e.sys_errno = sys_errno;
  return make_frame(request_id, e);
}

// ---- decoders ----

template <>
std::expected<ErrorInfo, ProtocolError> decode<ErrorInfo>(std::string_view json) {
  VB_PARSE(o, json);
  ErrorInfo m;
  std::string code;
  VB_READ(o, "code", code);
  VB_READ(o, "message", m.message);
  VB_READ(o, "errno", m.sys_errno);
  VB_READ(o, "fatal", m.fatal);
  m.code = error_code_from_string(code).value_or(ErrorCode::Internal);
  return m;
}

template <>
std::expected<Hello, ProtocolError> decode<Hello>(std::string_view json) {
  VB_PARSE(o, json);
  Hello m;
  std::string magic;
  VB_READ(o, "magic", magic);
  if (magic != kHelloMagic) return std::unexpected(detail::bad("magic", "expected \"voidbox\""));
  m.min_version = 0;
  m.max_version = 0;
  VB_READ(o, "min_version", m.min_version);
  VB_READ(o, "max_version", m.max_version);
  if (m.min_version == 0 || m.max_version < m.min_version)
    return std::unexpected(detail::bad("min_version", "missing or above max_version"));
  VB_READ(o, "secret", m.secret_hex);
  VB_READ(o, "features", m.features);
  return m;
}

template <>
std::expected<HelloAck, ProtocolError> decode<HelloAck>(std::string_view json) {
  VB_PARSE(o, json);
  HelloAck m;
  m.version = 0;
  VB_READ(o, "version", m.version);
  if (m.version == 0) return std::unexpected(detail::bad("version", "required"));
  VB_READ(o, "features", m.features);
  VB_READ(o, "agent_version", m.agent_version);
  VB_READ(o, "kernel_release", m.kernel_release);
  if (const auto* cv = o.if_contains("capabilities"); cv && cv->is_object()) {
    const Obj& c = cv->as_object();
    Capabilities& k = m.capabilities;
    VB_READ(c, "pid1", k.pid1);
    VB_READ(c, "process_mode", k.process_mode);
    VB_READ(c, "exec_uid", k.exec_uid);
    VB_READ(c, "exec_gid", k.exec_gid);
    VB_READ(c, "dropped_privileges", k.dropped_privileges);
    VB_READ(c, "max_execs", k.max_execs);
    VB_READ(c, "max_ptys", k.max_ptys);
    VB_READ(c, "max_data_chunk", k.max_data_chunk);
    VB_READ(c, "stdin_window", k.stdin_window);
    VB_READ(c, "file_roots", k.file_roots);
    VB_READ(c, "mount_errors", k.mount_errors);
  }
  return m;
}

template <>
std::expected<ExecStart, ProtocolError> decode<ExecStart>(std::string_view json) {
  VB_PARSE(o, json);
  ExecStart m;
  VB_READ(o, "program", m.program);
  if (auto r = require_nonempty("program", m.program); !r) return std::unexpected(r.error());
  VB_READ(o, "args", m.args);
  VB_READ(o, "env", m.env);
  VB_READ(o, "cwd", m.cwd);
  VB_READ(o, "timeout_ms", m.timeout_ms);
  VB_READ(o, "stdin", m.stdin_open);
  return m;
}

template <>
std::expected<ExecStarted, ProtocolError> decode<ExecStarted>(std::string_view json) {
  VB_PARSE(o, json);
  ExecStarted m;
  VB_READ(o, "pid", m.pid);
  return m;
}

template <>
std::expected<ExecExit, ProtocolError> decode<ExecExit>(std::string_view json) {
  VB_PARSE(o, json);
  ExecExit m;
  VB_READ(o, "exit_code", m.exit_code);
  VB_READ(o, "signal", m.signal);
  VB_READ(o, "timed_out", m.timed_out);
  VB_READ(o, "error", m.error);
  VB_READ(o, "duration_ms", m.duration_ms);
  VB_READ(o, "stdout_bytes", m.stdout_bytes);
  VB_READ(o, "stderr_bytes", m.stderr_bytes);
  return m;
}

template <>
std::expected<ExecKill, ProtocolError> decode<ExecKill>(std::string_view json) {
  VB_PARSE(o, json);
  ExecKill m;
  VB_READ(o, "signal", m.signal);
  if (m.signal <= 0 || m.signal > 64) return std::unexpected(detail::bad("signal", "out of range"));
  return m;
}

template <>
std::expected<FileWrite, ProtocolError> decode<FileWrite>(std::string_view json) {
  VB_PARSE(o, json);
  FileWrite m;
  VB_READ(o, "path", m.path);
  if (auto r = require_nonempty("path", m.path); !r) return std::unexpected(r.error());
  VB_READ(o, "mode", m.mode);
  if (m.mode > 07777) return std::unexpected(detail::bad("mode", "out of range"));
  VB_READ(o, "create_parents", m.create_parents);
  VB_READ(o, "append", m.append);
  return m;
}

template <>
std::expected<FileRead, ProtocolError> decode<FileRead>(std::string_view json) {
  VB_PARSE(o, json);
  FileRead m;
  VB_READ(o, "path", m.path);
  if (auto r = require_nonempty("path", m.path); !r) return std::unexpected(r.error());
  VB_READ(o, "offset", m.offset);
  VB_READ(o, "max", m.max);
  return m;
}

template <>
std::expected<StatRequest, ProtocolError> decode<StatRequest>(std::string_view json) {
  VB_PARSE(o, json);
  StatRequest m;
  VB_READ(o, "path", m.path);
  if (auto r = require_nonempty("path", m.path); !r) return std::unexpected(r.error());
  return m;
}

template <>
std::expected<StatResult, ProtocolError> decode<StatResult>(std::string_view json) {
  VB_PARSE(o, json);
  StatResult m;
  VB_READ(o, "exists", m.exists);
  VB_READ(o, "kind", m.kind);
  VB_READ(o, "size", m.size);
  VB_READ(o, "mode", m.mode);
  VB_READ(o, "uid", m.uid);
  VB_READ(o, "gid", m.gid);
  VB_READ(o, "mtime_ms", m.mtime_ms);
  return m;
}

template <>
std::expected<Mkdir, ProtocolError> decode<Mkdir>(std::string_view json) {
  VB_PARSE(o, json);
  Mkdir m;
  VB_READ(o, "path", m.path);
  if (auto r = require_nonempty("path", m.path); !r) return std::unexpected(r.error());
  VB_READ(o, "mode", m.mode);
  if (m.mode > 07777) return std::unexpected(detail::bad("mode", "out of range"));
  VB_READ(o, "parents", m.parents);
  return m;
}

template <>
std::expected<SetAllowlist, ProtocolError> decode<SetAllowlist>(std::string_view json) {
  VB_PARSE(o, json);
  SetAllowlist m;
  if (!o.if_contains("commands")) return std::unexpected(detail::bad("commands", "required"));
  VB_READ(o, "commands", m.commands);
  return m;
}

template <>
std::expected<Limits, ProtocolError> decode<Limits>(std::string_view json) {
  VB_PARSE(o, json);
  Limits m;
  VB_READ(o, "nofile", m.nofile);
  VB_READ(o, "nproc", m.nproc);
  VB_READ(o, "fsize_bytes", m.fsize_bytes);
  VB_READ(o, "max_execs", m.max_execs);
  VB_READ(o, "max_ptys", m.max_ptys);
  return m;
}

template <>
std::expected<TelemetrySubscribe, ProtocolError> decode<TelemetrySubscribe>(std::string_view json) {
  VB_PARSE(o, json);
  TelemetrySubscribe m;
  VB_READ(o, "interval_ms", m.interval_ms);
  return m;
}

template <>
std::expected<TelemetrySample, ProtocolError> decode<TelemetrySample>(std::string_view json) {
  VB_PARSE(o, json);
  TelemetrySample m;
  VB_READ(o, "seq", m.seq);
  VB_READ(o, "timestamp_ms", m.timestamp_ms);
  VB_READ(o, "cpu_percent", m.cpu_percent);
  VB_READ(o, "cpu_count", m.cpu_count);
  VB_READ(o, "mem_total_bytes", m.mem_total_bytes);
  VB_READ(o, "mem_available_bytes", m.mem_available_bytes);
  VB_READ(o, "mem_used_bytes", m.mem_used_bytes);
  VB_READ(o, "procs", m.procs);
  VB_READ(o, "procs_running", m.procs_running);
  VB_READ(o, "load1", m.load1);
  return m;
}

template <>
std::expected<PtyOpen, ProtocolError> decode<PtyOpen>(std::string_view json) {
  VB_PARSE(o, json);
  PtyOpen m;
  VB_READ(o, "program", m.program);
  if (auto r = require_nonempty("program", m.program); !r) return std::unexpected(r.error());
  VB_READ(o, "args", m.args);
  VB_READ(o, "env", m.env);
  VB_READ(o, "cwd", m.cwd);
  VB_READ(o, "cols", m.cols);
  VB_READ(o, "rows", m.rows);
  return m;
}

template <>
std::expected<PtyOpened, ProtocolError> decode<PtyOpened>(std::string_view json) {
  VB_PARSE(o, json);
  PtyOpened m;
  VB_READ(o, "pid", m.pid);
  return m;
}

template <>
std::expected<PtyResize, ProtocolError> decode<PtyResize>(std::string_view json) {
  VB_PARSE(o, json);
  PtyResize m;
  VB_READ(o, "cols", m.cols);
  VB_READ(o, "rows", m.rows);
  return m;
}

}  // namespace voidbox::protocol
