// VoidBox host <-> guest wire protocol, version 1: JSON control messages.
//
// Each struct is the payload of one MessageType (kType). encode() produces the
// JSON text; decode<T>() parses it, rejecting wrong types and out-of-range
// values. Unknown fields are ignored (a newer peer may add fields); absent
// optional fields take the defaults shown here.
//
// Link: voidbox_protocol (PIC, uses the shared Boost.JSON) or
// voidbox_protocol_static (for the static guest agent).
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/protocol/frame.hpp"

namespace voidbox::protocol {

// Error codes carried in ErrorInfo.code (stable strings on the wire).
enum class ErrorCode {
  BadRequest,          // malformed JSON, missing field, bad value
  Unauthorized,        // Hello secret mismatch or frame before Hello
  UnsupportedVersion,  // no common protocol version
  UnsupportedType,     // message type not known to the receiver
  NotAllowed,          // command not in the allowlist
  NotFound,            // path or program does not exist
  PermissionDenied,    // EACCES / EPERM
  OutsideRoot,         // path not under an allowed root, or `..` / symlink escape
  TooLarge,            // a size limit was exceeded
  Busy,                // concurrency limit (max execs / ptys) reached, or duplicate id
  SpawnFailed,         // fork/exec failed for another reason
  Io,                  // other I/O error
  Internal,
};
std::string_view to_string(ErrorCode code);  // "not_allowed", ...
std::optional<ErrorCode> error_code_from_string(std::string_view s);

// Error {code, message, errno?, fatal}. fatal=true (the default) ends the
// request it answers; fatal=false is a warning about a side message (e.g. a
// failed PtyResize) and the stream continues.
struct ErrorInfo {
  static constexpr MessageType kType = MessageType::Error;
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  int sys_errno = 0;  // JSON "errno", 0 = absent
  bool fatal = true;
};

struct ProtocolError {
  ErrorCode code = ErrorCode::BadRequest;
  std::string message;
};

// Hello {magic:"voidbox", min_version, max_version, secret:"<64 hex>", features:[..]}
// features = what the host understands; the guest answers with the subset it supports.
inline constexpr std::string_view kHelloMagic = "voidbox";
struct Hello {
  static constexpr MessageType kType = MessageType::Hello;
  std::uint32_t min_version = kMinVersion;
  std::uint32_t max_version = kMaxVersion;
  std::string secret_hex;  // 64 hex digits = 32 bytes
  std::vector<std::string> features;
};

// Feature names (Hello/HelloAck "features").
inline constexpr std::string_view kFeatureExec = "exec";
inline constexpr std::string_view kFeatureStdin = "stdin";
inline constexpr std::string_view kFeatureFiles = "files";
inline constexpr std::string_view kFeatureTelemetry = "telemetry";
inline constexpr std::string_view kFeaturePty = "pty";
inline constexpr std::string_view kFeaturePolicy = "policy";  // SetAllowlist/SetLimits

// HelloAck {version, features, agent_version, capabilities:{...}}
struct Capabilities {
  bool pid1 = false;           // agent runs as init of a VM
  bool process_mode = false;   // agent runs as a local process (backend-process)
  std::uint32_t exec_uid = 0;  // uid/gid commands run as
  std::uint32_t exec_gid = 0;
  bool dropped_privileges = false;  // true when exec_uid is the sandbox user (1000)
  std::uint32_t max_execs = 0;
  std::uint32_t max_ptys = 0;
  std::uint32_t max_data_chunk = kMaxDataChunk;
  // Unconsumed ExecStdin/PtyData bytes held per session. Input beyond it is
  // dropped and the child's stdin closed (non-fatal Error too_large): the
  // guest never stops reading the connection because a child is not reading.
  std::uint64_t stdin_window = 0;
  std::vector<std::string> file_roots;  // allowed roots for file RPCs, e.g. "/workspace"
  // Host shares (voidbox.mount<N>=) the guest could not mount, one
  // "<tag> on <path>: <reason>" each; the host refuses such a sandbox.
  std::vector<std::string> mount_errors;
};
struct HelloAck {
  static constexpr MessageType kType = MessageType::HelloAck;
  std::uint32_t version = kMaxVersion;
  std::vector<std::string> features;
  std::string agent_version;
  std::string kernel_release;  // uname -r of the guest
  Capabilities capabilities;
};

// ExecStart {program, args[], env{K:V}, cwd?, timeout_ms, stdin}
// program: basename (looked up in PATH) or absolute path; checked against the
// allowlist. env entries override the defaults (PATH, HOME=/home/sandbox,
// USER, TERM). cwd default /workspace. timeout_ms 0 = none; on timeout the
// whole process group is SIGKILLed and ExecExit.timed_out=true. stdin=false
// gives the child /dev/null; true gives a pipe fed by ExecStdin frames.
struct ExecStart {
  static constexpr MessageType kType = MessageType::ExecStart;
  std::string program;
  std::vector<std::string> args;  // argv[1..]; argv[0] is program
  std::map<std::string, std::string> env;
  std::string cwd;  // empty = default
  std::uint64_t timeout_ms = 0;
  bool stdin_open = false;  // JSON "stdin"
};

struct ExecStarted {
  static constexpr MessageType kType = MessageType::ExecStarted;
  std::int64_t pid = 0;
};

// ExecExit {exit_code, signal, timed_out, error?, duration_ms, stdout_bytes, stderr_bytes}
// exit_code: the exit status, or 128+signal when killed by a signal, -1 when
// the child could not be run (error set).
struct ExecExit {
  static constexpr MessageType kType = MessageType::ExecExit;
  int exit_code = 0;
  int signal = 0;
  bool timed_out = false;
  std::string error;
  std::uint64_t duration_ms = 0;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
};

struct ExecKill {
  static constexpr MessageType kType = MessageType::ExecKill;
  int signal = 9;
};

// FileWrite {path, mode=0644, create_parents=true, append=false}
struct FileWrite {
  static constexpr MessageType kType = MessageType::FileWrite;
  std::string path;
  std::uint32_t mode = 0644;
  bool create_parents = true;
  bool append = false;
};

// FileRead {path, offset=0, max=0 (0 = whole file)}
struct FileRead {
  static constexpr MessageType kType = MessageType::FileRead;
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t max = 0;
};

// Stat {path}
struct StatRequest {
  static constexpr MessageType kType = MessageType::Stat;
  std::string path;
};

// StatResult {exists, kind:"file"|"dir"|"symlink"|"other", size, mode, uid, gid, mtime_ms}
struct StatResult {
  static constexpr MessageType kType = MessageType::StatResult;
  bool exists = false;
  std::string kind;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime_ms = 0;
};

// Mkdir {path, mode=0755, parents=true}
struct Mkdir {
  static constexpr MessageType kType = MessageType::Mkdir;
  std::string path;
  std::uint32_t mode = 0755;
  bool parents = true;
};

// SetAllowlist {commands:[...]}: each entry is a basename ("git": allows any
// program whose basename is git) or an absolute path ("/usr/bin/git": only that
// path). Empty list = allow everything.
struct SetAllowlist {
  static constexpr MessageType kType = MessageType::SetAllowlist;
  std::vector<std::string> commands;
};

// SetLimits / Ok reply: {nofile, nproc, fsize_bytes, max_execs, max_ptys}
// (rlimits applied to each exec / pty child). Absent = unchanged.
struct Limits {
  static constexpr MessageType kType = MessageType::SetLimits;
  std::optional<std::uint64_t> nofile;
  std::optional<std::uint64_t> nproc;
  std::optional<std::uint64_t> fsize_bytes;
  std::optional<std::uint32_t> max_execs;
  std::optional<std::uint32_t> max_ptys;
};

// TelemetrySubscribe {interval_ms=1000}; the guest floors it at 100 ms.
struct TelemetrySubscribe {
  static constexpr MessageType kType = MessageType::TelemetrySubscribe;
  std::uint32_t interval_ms = 1000;
};

// TelemetrySample {seq, timestamp_ms, cpu_percent, cpu_count, mem_total_bytes,
// mem_available_bytes, mem_used_bytes, procs, procs_running, load1}
struct TelemetrySample {
  static constexpr MessageType kType = MessageType::TelemetrySample;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  double cpu_percent = 0;  // all CPUs busy = 100
  std::uint32_t cpu_count = 0;
  std::uint64_t mem_total_bytes = 0;
  std::uint64_t mem_available_bytes = 0;
  std::uint64_t mem_used_bytes = 0;
  std::uint32_t procs = 0;
  std::uint32_t procs_running = 0;
  double load1 = 0;
};

// PtyOpen {program, args, env, cwd?, cols=80, rows=24}
struct PtyOpen {
  static constexpr MessageType kType = MessageType::PtyOpen;
  std::string program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;
  std::uint16_t cols = 80;
  std::uint16_t rows = 24;
};

struct PtyOpened {
  static constexpr MessageType kType = MessageType::PtyOpened;
  std::int64_t pid = 0;
};

struct PtyResize {
  static constexpr MessageType kType = MessageType::PtyResize;
  std::uint16_t cols = 80;
  std::uint16_t rows = 24;
};

// JSON text of a message.
std::string encode(const ErrorInfo& m);
std::string encode(const Hello& m);
std::string encode(const HelloAck& m);
std::string encode(const ExecStart& m);
std::string encode(const ExecStarted& m);
std::string encode(const ExecExit& m);
std::string encode(const ExecKill& m);
std::string encode(const FileWrite& m);
std::string encode(const FileRead& m);
std::string encode(const StatRequest& m);
std::string encode(const StatResult& m);
std::string encode(const Mkdir& m);
std::string encode(const SetAllowlist& m);
std::string encode(const Limits& m);
std::string encode(const TelemetrySubscribe& m);
std::string encode(const TelemetrySample& m);
std::string encode(const PtyOpen& m);
std::string encode(const PtyOpened& m);
std::string encode(const PtyResize& m);

template <class M>
std::expected<M, ProtocolError> decode(std::string_view json);

// Specializations exist for every message struct above.
template <>
std::expected<ErrorInfo, ProtocolError> decode<ErrorInfo>(std::string_view json);
template <>
std::expected<Hello, ProtocolError> decode<Hello>(std::string_view json);
template <>
std::expected<HelloAck, ProtocolError> decode<HelloAck>(std::string_view json);
template <>
std::expected<ExecStart, ProtocolError> decode<ExecStart>(std::string_view json);
template <>
std::expected<ExecStarted, ProtocolError> decode<ExecStarted>(std::string_view json);
template <>
std::expected<ExecExit, ProtocolError> decode<ExecExit>(std::string_view json);
template <>
std::expected<ExecKill, ProtocolError> decode<ExecKill>(std::string_view json);
template <>
std::expected<FileWrite, ProtocolError> decode<FileWrite>(std::string_view json);
template <>
std::expected<FileRead, ProtocolError> decode<FileRead>(std::string_view json);
template <>
std::expected<StatRequest, ProtocolError> decode<StatRequest>(std::string_view json);
template <>
std::expected<StatResult, ProtocolError> decode<StatResult>(std::string_view json);
template <>
std::expected<Mkdir, ProtocolError> decode<Mkdir>(std::string_view json);
template <>
std::expected<SetAllowlist, ProtocolError> decode<SetAllowlist>(std::string_view json);
template <>
std::expected<Limits, ProtocolError> decode<Limits>(std::string_view json);
template <>
std::expected<TelemetrySubscribe, ProtocolError> decode<TelemetrySubscribe>(std::string_view json);
template <>
std::expected<TelemetrySample, ProtocolError> decode<TelemetrySample>(std::string_view json);
template <>
std::expected<PtyOpen, ProtocolError> decode<PtyOpen>(std::string_view json);
template <>
std::expected<PtyOpened, ProtocolError> decode<PtyOpened>(std::string_view json);
template <>
std::expected<PtyResize, ProtocolError> decode<PtyResize>(std::string_view json);

template <class M>
std::expected<M, ProtocolError> decode(const Frame& f) {
  return decode<M>(f.text());
}

// A frame carrying message m (type M::kType) for request_id.
template <class M>
std::vector<std::uint8_t> make_frame(std::uint32_t request_id, const M& m,
                                     std::uint16_t flags = 0) {
  return encode_frame(M::kType, flags, request_id, encode(m));
}

// Error frame helper.
std::vector<std::uint8_t> make_error_frame(std::uint32_t request_id, ErrorCode code,
                                           std::string_view message, int sys_errno = 0);

}  // namespace voidbox::protocol
