// VoidBox host <-> guest wire protocol, version 1: framing.
//
// One persistent stream connection per VM (AF_VSOCK port 1234 in a VM, a Unix
// socket in process mode). Every message is one frame:
//
//   offset size  field
//   0      4     payload length, u32 little endian (header excluded)
//   4      2     message type, u16 little endian (MessageType)
//   6      2     flags, u16 little endian (kFlag*)
//   8      4     request id, u32 little endian
//   12     n     payload
//
// Control payloads are UTF-8 JSON objects (see messages.hpp). Bulk payloads
// (ExecStdin, ExecOutput, FileData, PtyData) are raw bytes, never JSON.
//
// Request ids are chosen by the host, nonzero, unique among its in-flight
// requests. Every response and stream frame carries the id of the request it
// belongs to. Id 0 is the connection itself (Hello, HelloAck, connection-level
// Error, Ping/Pong may use any id). Requests run concurrently in the guest.
//
// Each message type has a payload size limit (max_payload_size) that the
// decoder checks on the header, before it allocates the payload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::protocol {

inline constexpr std::size_t kHeaderSize = 12;

// Guest listens here (vsock port, and the suffix of the process-mode socket name).
inline constexpr std::uint32_t kVsockPort = 1234;

// Versions this build speaks. Hello carries a [min, max] range; the guest picks
// the highest version both sides speak.
inline constexpr std::uint32_t kMinVersion = 1;
inline constexpr std::uint32_t kMaxVersion = 1;

// Frame flags.
inline constexpr std::uint16_t kFlagEnd = 0x0001;  // last frame of a byte stream (EOF)

enum class MessageType : std::uint16_t {
  // Connection.
  Hello = 0x0001,     // H->G JSON Hello. Must be the first frame; anything else closes.
  HelloAck = 0x0002,  // G->H JSON HelloAck.
  Error = 0x0003,     // both, JSON ErrorInfo. Terminal for its request id; id 0 = connection.
  Ping = 0x0004,      // H->G raw (<= 64 bytes), echoed back in Pong with the same id.
  Pong = 0x0005,      // G->H raw, the Ping payload.
  Shutdown = 0x0006,  // H->G JSON {}. Guest answers Ok, half-closes, waits (<= 2 s) for the
                      // host to close, syncs, then powers off (process mode: exits).
  Ok = 0x0007,        // G->H JSON object; terminal success for requests without a
                      // dedicated response (FileWrite, Mkdir, SetAllowlist, SetLimits,
                      // Shutdown, PtyResize). Fields per request, see messages.hpp.
  Cancel = 0x0008,    // H->G JSON {}; id = the request to cancel (exec: SIGKILL the group,
                      // telemetry: stop, pty: hang up). No direct reply; the stream's own
                      // terminal frame follows.

  // Exec.
  ExecStart = 0x0010,    // H->G JSON ExecStart. Replies: ExecStarted, ExecOutput*, ExecExit,
                         // or Error if it could not start (not allowed, busy, spawn failed).
  ExecStarted = 0x0011,  // G->H JSON ExecStarted {pid}.
  ExecStdin = 0x0012,    // H->G raw stdin bytes; kFlagEnd closes the child's stdin
                         // (payload may be empty). Ignored unless ExecStart.stdin was true.
  ExecOutput = 0x0013,   // G->H raw: byte 0 = OutputStream, then the chunk. In order per stream.
  ExecExit = 0x0014,     // G->H JSON ExecExit. Terminal. Sent after all ExecOutput frames.
  ExecKill = 0x0015,     // H->G JSON ExecKill {signal}; id = the exec. Signals the process group.

  // Files. Paths are absolute guest paths under an allowed root (/workspace, /home, /tmp).
  FileWrite = 0x0020,   // H->G JSON FileWrite, then FileData frames with the same id, the
                        // last with kFlagEnd. Reply: Ok {bytes} or Error.
  FileData = 0x0021,    // both, raw file bytes.
  FileRead = 0x0022,    // H->G JSON FileRead. Reply: FileData frames, the last with kFlagEnd
                        // (possibly empty), or Error.
  Stat = 0x0023,        // H->G JSON PathRequest. Reply: StatResult.
  StatResult = 0x0024,  // G->H JSON StatResult (exists=false is not an error).
  Mkdir = 0x0025,       // H->G JSON Mkdir. Reply: Ok {} or Error.

  // Policy. Takes effect for the next exec / pty immediately.
  SetAllowlist = 0x0030,  // H->G JSON SetAllowlist. Reply: Ok {count}.
  SetLimits = 0x0031,     // H->G JSON Limits (absent fields unchanged). Reply: Ok with the
                          // effective Limits.

  // Telemetry.
  TelemetrySubscribe = 0x0040,  // H->G JSON TelemetrySubscribe. Stream of TelemetrySample with
                                // the same id until Cancel (then Ok) or connection end.
  TelemetrySample = 0x0041,     // G->H JSON TelemetrySample.

  // Interactive terminals.
  PtyOpen = 0x0050,    // H->G JSON PtyOpen. Replies: PtyOpened, PtyData*, PtyExit; or Error.
  PtyOpened = 0x0051,  // G->H JSON {pid}.
  PtyData = 0x0052,    // both, raw terminal bytes. H->G is keyboard input.
  PtyResize = 0x0053,  // H->G JSON PtyResize {cols, rows}. No reply unless it fails (Error is
                       // sent with id = the pty, and is NOT terminal for PtyResize errors; see
                       // ErrorInfo.fatal).
  PtyClose = 0x0054,   // H->G JSON {}: SIGHUP the session; PtyExit follows.
  PtyExit = 0x0055,    // G->H JSON ExecExit (same shape as exec). Terminal.
};

// Byte 0 of an ExecOutput payload.
enum class OutputStream : std::uint8_t { Stdout = 1, Stderr = 2 };

// Payload limits.
inline constexpr std::uint32_t kMaxDataChunk = 1u << 20;      // raw bytes per data frame
inline constexpr std::uint32_t kMaxLargeControl = 1u << 20;   // ExecStart, PtyOpen, lists
inline constexpr std::uint32_t kMaxSmallControl = 64u << 10;  // other JSON messages
inline constexpr std::uint32_t kMaxHello = 4u << 10;
inline constexpr std::uint32_t kMaxPing = 64;

// Largest payload accepted for a type; unknown types get kMaxSmallControl so a
// newer peer's message can be read and refused with an Error.
constexpr std::uint32_t max_payload_size(MessageType type) {
  switch (type) {
    case MessageType::Hello:
    case MessageType::HelloAck:
      return kMaxHello;
    case MessageType::Ping:
    case MessageType::Pong:
      return kMaxPing;
    case MessageType::ExecStdin:
    case MessageType::FileData:
    case MessageType::PtyData:
      return kMaxDataChunk;
    case MessageType::ExecOutput:
      return kMaxDataChunk + 1;
    case MessageType::ExecStart:
    case MessageType::PtyOpen:
    case MessageType::SetAllowlist:
      return kMaxLargeControl;
    default:
      return kMaxSmallControl;
  }
}

std::string_view to_string(MessageType type);  // "ExecStart", or "unknown"

struct Frame {
  MessageType type{};
  std::uint16_t flags = 0;
  std::uint32_t request_id = 0;
  std::vector<std::uint8_t> payload;

  bool end() const { return (flags & kFlagEnd) != 0; }
  std::string_view text() const {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

// Header bytes for a frame; for scatter writes (header + payload via writev).
std::array<std::uint8_t, kHeaderSize> encode_header(MessageType type, std::uint16_t flags,
                                                    std::uint32_t request_id,
                                                    std::uint32_t payload_size);

// Whole frame in one buffer. The caller keeps payloads within max_payload_size.
std::vector<std::uint8_t> encode_frame(MessageType type, std::uint16_t flags,
                                       std::uint32_t request_id,
                                       std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_frame(MessageType type, std::uint16_t flags,
                                       std::uint32_t request_id, std::string_view payload);

// ExecOutput payload = stream byte + chunk.
std::vector<std::uint8_t> encode_exec_output(std::uint32_t request_id, OutputStream stream,
                                             std::span<const std::uint8_t> chunk);

struct DecodeError {
  std::string message;
};

// Incremental decoder: feed any number of bytes (byte by byte is fine), then
// pop complete frames. After an error the decoder stays failed: the stream is
// out of sync and the connection must be closed.
class FrameDecoder {
 public:
  // A frame larger than min(max_payload_size(type), max_payload) is an error,
  // detected from its header before anything is allocated for it.
  explicit FrameDecoder(std::uint32_t max_payload = kMaxLargeControl + kMaxDataChunk)
      : max_payload_(max_payload) {}

  std::expected<void, DecodeError> feed(std::span<const std::uint8_t> bytes);
  bool has_frame() const { return !ready_.empty(); }
  Frame pop();  // precondition: has_frame()
  std::size_t ready_count() const { return ready_.size(); }
  bool failed() const { return failed_; }
  // Bytes of a partially received frame (0 = at a frame boundary).
  std::size_t pending_bytes() const {
    return in_payload_ ? kHeaderSize + current_.payload.size() : header_fill_;
  }

 private:
  std::uint32_t max_payload_;
  std::array<std::uint8_t, kHeaderSize> header_{};
  std::size_t header_fill_ = 0;
  bool in_payload_ = false;
  std::uint32_t payload_size_ = 0;
  Frame current_;
  std::deque<Frame> ready_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace voidbox::protocol
