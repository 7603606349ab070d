#include "fuse_wire.hpp"

#include <algorithm>

namespace voidbox::virtiofs {

namespace {

struct Shape {
  std::uint32_t min_fixed = 0;   // bytes the guest must send
  std::uint32_t full_fixed = 0;  // bytes of the struct we read
  std::uint8_t names = 0;        // NUL-terminated strings after it
  bool data = false;             // raw bytes after the names
};

Shape shape_of(std::uint32_t opcode) {
  switch (opcode) {
    case FUSE_LOOKUP:
    case FUSE_UNLINK:
    case FUSE_RMDIR:
      return {0, 0, 1, false};
    case FUSE_FORGET:
      return {sizeof(fuse_forget_in), sizeof(fuse_forget_in), 0, false};
    case FUSE_GETATTR:
      return {sizeof(fuse_getattr_in), sizeof(fuse_getattr_in), 0, false};
    case FUSE_SETATTR:
      return {sizeof(fuse_setattr_in), sizeof(fuse_setattr_in), 0, false};
    case FUSE_SYMLINK:
      return {0, 0, 2, false};
    case FUSE_MKDIR:
      return {sizeof(fuse_mkdir_in), sizeof(fuse_mkdir_in), 1, false};
    case FUSE_RENAME:
      return {sizeof(fuse_rename_in), sizeof(fuse_rename_in), 2, false};
    case FUSE_RENAME2:
      return {sizeof(fuse_rename2_in), sizeof(fuse_rename2_in), 2, false};
    case FUSE_OPEN:
    case FUSE_OPENDIR:
      return {sizeof(fuse_open_in), sizeof(fuse_open_in), 0, false};
    case FUSE_READ:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
      return {sizeof(fuse_read_in), sizeof(fuse_read_in), 0, false};
    case FUSE_WRITE:
      return {sizeof(fuse_write_in), sizeof(fuse_write_in), 0, true};
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
      return {sizeof(fuse_release_in), sizeof(fuse_release_in), 0, false};
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
      return {sizeof(fuse_fsync_in), sizeof(fuse_fsync_in), 0, false};
    case FUSE_FLUSH:
      return {sizeof(fuse_flush_in), sizeof(fuse_flush_in), 0, false};
    // Guests before 7.36 send the 16-byte form.
    case FUSE_INIT:
      return {16, sizeof(fuse_init_in), 0, false};
    case FUSE_ACCESS:
      return {sizeof(fuse_access_in), sizeof(fuse_access_in), 0, false};
    case FUSE_CREATE:
      return {sizeof(fuse_create_in), sizeof(fuse_create_in), 1, false};
    case FUSE_BATCH_FORGET:
      return {sizeof(fuse_batch_forget_in), sizeof(fuse_batch_forget_in), 0, true};
    default:
      return {};  // no body read: answered ENOSYS or needs none
  }
}

static_assert(sizeof(fuse_init_in) <= sizeof(Request::fixed));
static_assert(sizeof(fuse_setattr_in) <= sizeof(Request::fixed));

}  // namespace

std::expected<Request, ParseError> parse_request(std::span<const std::byte> bytes) {
  Request r;
  if (bytes.size() < kInHeaderSize) return std::unexpected(ParseError::kShort);
  std::memcpy(&r.header, bytes.data(), kInHeaderSize);
  if (r.header.len < kInHeaderSize || r.header.len > bytes.size()) {
    return std::unexpected(ParseError::kBadLength);
  }
  std::span<const std::byte> rest = bytes.subspan(kInHeaderSize, r.header.len - kInHeaderSize);
  const Shape s = shape_of(r.header.opcode);
  if (rest.size() < s.min_fixed) return std::unexpected(ParseError::kBadBody);
  const std::size_t fixed = std::min<std::size_t>(rest.size(), s.full_fixed);
  std::memcpy(r.fixed, rest.data(), fixed);
  rest = rest.subspan(fixed);
  for (int i = 0; i < s.names; ++i) {
    const std::size_t cap = i == 1 && r.header.opcode == FUSE_SYMLINK ? kMaxLinkTarget : kMaxName;
    const auto* chars = reinterpret_cast<const char*>(rest.data());
    const std::size_t n = ::strnlen(chars, std::min(rest.size(), cap + 1));
    if (n >= rest.size() || n > cap) return std::unexpected(ParseError::kBadBody);
    (i == 0 ? r.name : r.name2) = std::string_view(chars, n);
    rest = rest.subspan(n + 1);
  }
  if (!s.data) return r;
  if (r.header.opcode == FUSE_WRITE) {
    const auto w = r.body<fuse_write_in>();
    if (w.size > rest.size() || w.size > kMaxIo) return std::unexpected(ParseError::kBadBody);
    r.data = rest.first(w.size);
  } else {  // BATCH_FORGET
    const auto b = r.body<fuse_batch_forget_in>();
    if (b.count > rest.size() / sizeof(fuse_forget_one)) {
      return std::unexpected(ParseError::kBadBody);
    }
    r.data = rest.first(std::size_t{b.count} * sizeof(fuse_forget_one));
  }
  return r;
}

ReplyBuilder::ReplyBuilder(std::vector<std::byte>& out, std::size_t limit, std::uint64_t unique)
    : out_(out), limit_(limit), unique_(unique) {
  out_.clear();
  out_.resize(kOutHeaderSize);
  if (limit_ < kOutHeaderSize) ok_ = false;
}

void ReplyBuilder::append(const void* p, std::size_t n) {
  std::byte* at = reserve(n);
  if (at != nullptr && n > 0) std::memcpy(at, p, n);
}

std::byte* ReplyBuilder::reserve(std::size_t n) {
  if (!ok_ || n > room()) {
    ok_ = false;
    return nullptr;
  }
  const std::size_t at = out_.size();
  out_.resize(at + n);
  return out_.data() + at;
}

void ReplyBuilder::finish(int error) {
  if (error != 0) out_.resize(kOutHeaderSize);
  fuse_out_header h{};
  h.len = static_cast<std::uint32_t>(out_.size());
  h.error = -error;
  h.unique = unique_;
  std::memcpy(out_.data(), &h, sizeof h);
}

}  // namespace voidbox::virtiofs
