#include "p9_wire.hpp"

#include <algorithm>
#include <cstring>

namespace voidbox::p9 {

namespace {

// Sequential, bounds-checked reads of one message. After the first failed
// read every later read fails too, so a parser checks ok() once at the end.
class Cursor {
 public:
  explicit Cursor(std::span<const std::byte> data) : data_(data) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::string_view str() {
    const std::size_t n = u16();
    const auto b = take(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  std::span<const std::byte> take(std::size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return {};
    }
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  std::uint64_t le(std::size_t n) {
    const auto b = take(n);
    std::uint64_t v = 0;
    for (std::size_t i = b.size(); i > 0; --i)
      v = (v << 8) | std::to_integer<std::uint64_t>(b[i - 1]);
    return v;
  }
  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::expected<Body, ParseError> parse_body(std::uint8_t type, Cursor& c) {
  switch (type) {
    case kTversion: {
      Version m{};
      m.msize = c.u32();
      m.version = c.str();
      return m;
    }
    case kTauth: {
      Auth m{};
      m.afid = c.u32();
      m.uname = c.str();
      m.aname = c.str();
      m.n_uname = c.u32();
      return m;
    }
    case kTattach: {
      Attach m{};
      m.fid = c.u32();
      m.afid = c.u32();
      m.uname = c.str();
      m.aname = c.str();
      m.n_uname = c.u32();
      return m;
    }
    case kTflush:
      return Flush{c.u16()};
    case kTwalk: {
      Walk m{};
      m.fid = c.u32();
      m.newfid = c.u32();
      m.count = c.u16();
      if (m.count > kMaxWalkNames) return std::unexpected(ParseError::kTooManyNames);
      for (std::uint16_t i = 0; i < m.count; ++i) m.names[i] = c.str();
      return m;
    }
    case kTlopen: {
      Lopen m{};
      m.fid = c.u32();
      m.flags = c.u32();
      return m;
    }
    case kTlcreate: {
      Lcreate m{};
      m.fid = c.u32();
      m.name = c.str();
      m.flags = c.u32();
      m.mode = c.u32();
      m.gid = c.u32();
      return m;
    }
    case kTsymlink: {
      Symlink m{};
      m.fid = c.u32();
      m.name = c.str();
      m.target = c.str();
      m.gid = c.u32();
      return m;
    }
    case kTmknod: {
      Mknod m{};
      m.dfid = c.u32();
      m.name = c.str();
      m.mode = c.u32();
      m.major = c.u32();
      m.minor = c.u32();
      m.gid = c.u32();
      return m;
    }
    case kTrename: {
      Rename m{};
      m.fid = c.u32();
      m.dfid = c.u32();
      m.name = c.str();
      return m;
    }
    case kTreadlink:
      return Readlink{c.u32()};
    case kTgetattr: {
      Getattr m{};
      m.fid = c.u32();
      m.mask = c.u64();
      return m;
    }
    case kTsetattr: {
      Setattr m{};
      m.fid = c.u32();
      m.valid = c.u32();
      m.mode = c.u32();
      m.uid = c.u32();
      m.gid = c.u32();
      m.size = c.u64();
      m.atime_sec = c.u64();
      m.atime_nsec = c.u64();
      m.mtime_sec = c.u64();
      m.mtime_nsec = c.u64();
      return m;
    }
    case kTxattrwalk: {
      Xattrwalk m{};
      m.fid = c.u32();
      m.newfid = c.u32();
      m.name = c.str();
      return m;
    }
    case kTxattrcreate: {
      Xattrcreate m{};
      m.fid = c.u32();
      m.name = c.str();
      m.size = c.u64();
      m.flags = c.u32();
      return m;
    }
    case kTreaddir: {
      Readdir m{};
      m.fid = c.u32();
      m.offset = c.u64();
      m.count = c.u32();
      return m;
    }
    case kTfsync: {
      Fsync m{};
      m.fid = c.u32();
      m.datasync = c.u32();
      return m;
    }
    case kTlock: {
      Lock m{};
      m.fid = c.u32();
      m.type = c.u8();
      m.flags = c.u32();
      m.start = c.u64();
      m.length = c.u64();
      m.proc_id = c.u32();
      m.client_id = c.str();
      return m;
    }
    case kTgetlock: {
      Getlock m{};
      m.fid = c.u32();
      m.type = c.u8();
      m.start = c.u64();
      m.length = c.u64();
      m.proc_id = c.u32();
      m.client_id = c.str();
      return m;
    }
    case kTlink: {
      Link m{};
      m.dfid = c.u32();
      m.fid = c.u32();
      m.name = c.str();
      return m;
    }
    case kTmkdir: {
      Mkdir m{};
      m.dfid = c.u32();
      m.name = c.str();
      m.mode = c.u32();
      m.gid = c.u32();
      return m;
    }
    case kTrenameat: {
      Renameat m{};
      m.olddfid = c.u32();
      m.oldname = c.str();
      m.newdfid = c.u32();
      m.newname = c.str();
      return m;
    }
    case kTunlinkat: {
      Unlinkat m{};
      m.dfid = c.u32();
      m.name = c.str();
      m.flags = c.u32();
      return m;
    }
    case kTread: {
      Read m{};
      m.fid = c.u32();
      m.offset = c.u64();
      m.count = c.u32();
      return m;
    }
    case kTwrite: {
      Write m{};
      m.fid = c.u32();
      m.offset = c.u64();
      const std::uint32_t count = c.u32();
      m.data = c.take(count);
      return m;
    }
    case kTclunk:
      return Clunk{c.u32()};
    case kTremove:
      return Remove{c.u32()};
    case kTstatfs:
      return Statfs{c.u32()};
    default:
      return std::unexpected(ParseError::kUnknownType);
  }
}

}  // namespace

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::kShort:
      return "message shorter than its header or its size field";
    case ParseError::kTruncated:
      return "a field runs past the end of the message";
    case ParseError::kTrailing:
      return "bytes after the last field";
    case ParseError::kTooManyNames:
      return "walk of more than 16 names";
    case ParseError::kUnknownType:
      return "unknown message type";
  }
  return "unknown parse error";
}

std::expected<std::uint16_t, ParseError> peek_tag(std::span<const std::byte> message) {
  if (message.size() < kHeaderSize) return std::unexpected(ParseError::kShort);
  return static_cast<std::uint16_t>(std::to_integer<std::uint16_t>(message[5]) |
                                    (std::to_integer<std::uint16_t>(message[6]) << 8));
}

std::expected<Request, ParseError> parse_request(std::span<const std::byte> message) {
  Cursor c(message);
  const std::uint32_t size = c.u32();
  if (!c.ok() || message.size() < kHeaderSize || size != message.size()) {
    return std::unexpected(ParseError::kShort);
  }
  Request r;
  r.type = c.u8();
  r.tag = c.u16();
  auto body = parse_body(r.type, c);
  if (!body) return std::unexpected(body.error());
  if (!c.ok()) return std::unexpected(ParseError::kTruncated);
  if (!c.at_end()) return std::unexpected(ParseError::kTrailing);
  r.body = std::move(*body);
  return r;
}

void ReplyBuilder::put(const void* p, std::size_t n) {
  if (!ok_ || n > room()) {
    ok_ = false;
    return;
  }
  const std::size_t at = out_.size();
  out_.resize(at + n);
  if (n > 0) std::memcpy(out_.data() + at, p, n);
}

void ReplyBuilder::begin(std::uint8_t type, std::uint16_t tag) {
  out_.clear();
  ok_ = true;
  u32(0);
  u8(type);
  u16(tag);
}

void ReplyBuilder::u16(std::uint16_t v) {
  const std::byte b[2] = {std::byte(v & 0xff), std::byte(v >> 8)};
  put(b, 2);
}

void ReplyBuilder::u32(std::uint32_t v) {
  std::byte b[4];
  for (int i = 0; i < 4; ++i) b[i] = std::byte((v >> (8 * i)) & 0xff);
  put(b, 4);
}

void ReplyBuilder::u64(std::uint64_t v) {
  std::byte b[8];
  for (int i = 0; i < 8; ++i) b[i] = std::byte((v >> (8 * i)) & 0xff);
  put(b, 8);
}

void ReplyBuilder::str(std::string_view s) {
  if (s.size() > 0xffff) {
    ok_ = false;
    return;
  }
  u16(static_cast<std::uint16_t>(s.size()));
  put(s.data(), s.size());
}

void ReplyBuilder::qid(const Qid& q) {
  u8(q.type);
  u32(q.version);
  u64(q.path);
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

void ReplyBuilder::shrink(std::size_t n) {
  out_.resize(out_.size() - std::min(n, out_.size() - kHeaderSize));
}

void ReplyBuilder::patch_u32(std::size_t at, std::uint32_t v) {
  if (at > out_.size() || out_.size() - at < 4) return;
  for (int i = 0; i < 4; ++i) out_[at + i] = std::byte((v >> (8 * i)) & 0xff);
}

void ReplyBuilder::finish() {
  const auto n = static_cast<std::uint32_t>(out_.size());
  for (int i = 0; i < 4 && static_cast<std::size_t>(i) < out_.size(); ++i) {
    out_[i] = std::byte((n >> (8 * i)) & 0xff);
  }
}

void build_error(std::vector<std::byte>& out, std::uint16_t tag, std::uint32_t ecode) {
  ReplyBuilder b(out, kHeaderSize + 4);
  b.begin(kRlerror, tag);
  b.u32(ecode);
  b.finish();
}

}  // namespace voidbox::p9
