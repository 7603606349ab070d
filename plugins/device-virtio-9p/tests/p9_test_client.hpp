// Test double for the guest's 9P client: builds T-messages byte by byte (not
// with the server's own codec, so a codec bug cannot hide itself) and reads
// R-messages back. Not for production code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::p9::testing {

class Msg {
 public:
  Msg(std::uint8_t type, std::uint16_t tag) {
    u32(0);
    u8(type);
    u16(tag);
  }
  Msg& u8(std::uint8_t v) { return le(v, 1); }
  Msg& u16(std::uint16_t v) { return le(v, 2); }
  Msg& u32(std::uint32_t v) { return le(v, 4); }
  Msg& u64(std::uint64_t v) { return le(v, 8); }
  Msg& str(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    for (char c : s) b_.push_back(static_cast<std::byte>(c));
    return *this;
  }
  Msg& raw(std::string_view s) {
    for (char c : s) b_.push_back(static_cast<std::byte>(c));
    return *this;
  }
  std::vector<std::byte> done() {
    const auto n = static_cast<std::uint32_t>(b_.size());
    for (int i = 0; i < 4; ++i) b_[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
    return b_;
  }

 private:
  Msg& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::vector<std::byte> b_;
};

class Reply {
 public:
  explicit Reply(std::vector<std::byte> b) : b_(std::move(b)) {
    if (b_.size() < 7) throw std::runtime_error("reply shorter than a header");
    if (get(4) != b_.size()) throw std::runtime_error("reply size field disagrees");
    type_ = static_cast<std::uint8_t>(get(1));
    tag_ = static_cast<std::uint16_t>(get(2));
  }
  std::uint8_t type() const { return type_; }
  std::uint16_t tag() const { return tag_; }
  bool is_error() const { return type_ == 7; }
  // The errno of an Rlerror, 0 for any other reply.
  std::uint32_t error() const {
    if (!is_error()) return 0;
    std::size_t at = 7;
    return static_cast<std::uint32_t>(peek(at, 4));
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  std::string str() { return bytes(u16()); }
  std::string bytes(std::size_t n) {
    if (n > b_.size() - pos_) throw std::runtime_error("reply field past the end");
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void skip(std::size_t n) { bytes(n); }
  std::size_t left() const { return b_.size() - pos_; }
  std::size_t size() const { return b_.size(); }

 private:
  std::uint64_t peek(std::size_t& at, int n) const {
    if (static_cast<std::size_t>(n) > b_.size() - at) throw std::runtime_error("short reply");
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(b_[at + i]);
    at += n;
    return v;
  }
  std::uint64_t get(int n) { return peek(pos_, n); }
  std::vector<std::byte> b_;
  std::size_t pos_ = 0;
  std::uint8_t type_ = 0;
  std::uint16_t tag_ = 0;
};

// Sends through `transport` (the server directly, or a virtqueue).
class Client {
 public:
  using Transport = std::function<std::vector<std::byte>(const std::vector<std::byte>&)>;
  explicit Client(Transport t) : t_(std::move(t)) {}

  Reply call(Msg m) { return Reply(t_(m.done())); }
  Msg msg(std::uint8_t type) { return Msg(type, next_tag_++); }

  Reply version(std::uint32_t msize = 512 * 1024, std::string_view v = "9P2000.L") {
    return call(Msg(100, 0xffff).u32(msize).str(v));
  }
  Reply attach(std::uint32_t fid) {
    return call(msg(104).u32(fid).u32(0xffffffffu).str("sandbox").str("").u32(1000));
  }
  Reply walk(std::uint32_t fid, std::uint32_t newfid,
             std::initializer_list<std::string_view> names) {
    Msg m = msg(110);
    m.u32(fid).u32(newfid).u16(static_cast<std::uint16_t>(names.size()));
    for (auto n : names) m.str(n);
    return call(std::move(m));
  }
  Reply lopen(std::uint32_t fid, std::uint32_t flags) { return call(msg(12).u32(fid).u32(flags)); }
  Reply lcreate(std::uint32_t fid, std::string_view name, std::uint32_t flags, std::uint32_t mode) {
    return call(msg(14).u32(fid).str(name).u32(flags).u32(mode).u32(1000));
  }
  Reply read(std::uint32_t fid, std::uint64_t offset, std::uint32_t count) {
    return call(msg(116).u32(fid).u64(offset).u32(count));
  }
  Reply write(std::uint32_t fid, std::uint64_t offset, std::string_view data) {
    return call(
        msg(118).u32(fid).u64(offset).u32(static_cast<std::uint32_t>(data.size())).raw(data));
  }
  Reply getattr(std::uint32_t fid) { return call(msg(24).u32(fid).u64(0x7ff)); }
  Reply setattr_mode(std::uint32_t fid, std::uint32_t mode) {
    return call(msg(26).u32(fid).u32(1).u32(mode).u32(0).u32(0).u64(0).u64(0).u64(0).u64(0).u64(0));
  }
  Reply setattr_size(std::uint32_t fid, std::uint64_t size) {
    return call(msg(26).u32(fid).u32(8).u32(0).u32(0).u32(0).u64(size).u64(0).u64(0).u64(0).u64(0));
  }
  Reply readdir(std::uint32_t fid, std::uint64_t offset, std::uint32_t count) {
    return call(msg(40).u32(fid).u64(offset).u32(count));
  }
  Reply mkdir(std::uint32_t dfid, std::string_view name, std::uint32_t mode = 0755) {
    return call(msg(72).u32(dfid).str(name).u32(mode).u32(1000));
  }
  Reply symlink(std::uint32_t dfid, std::string_view name, std::string_view target) {
    return call(msg(16).u32(dfid).str(name).str(target).u32(1000));
  }
  Reply readlink(std::uint32_t fid) { return call(msg(22).u32(fid)); }
  Reply unlinkat(std::uint32_t dfid, std::string_view name, std::uint32_t flags = 0) {
    return call(msg(76).u32(dfid).str(name).u32(flags));
  }
  Reply renameat(std::uint32_t a, std::string_view an, std::uint32_t b, std::string_view bn) {
    return call(msg(74).u32(a).str(an).u32(b).str(bn));
  }
  Reply mknod(std::uint32_t dfid, std::string_view name) {
    return call(msg(18).u32(dfid).str(name).u32(010644).u32(0).u32(0).u32(1000));
  }
  Reply link(std::uint32_t dfid, std::uint32_t fid, std::string_view name) {
    return call(msg(70).u32(dfid).u32(fid).str(name));
  }
  Reply rename(std::uint32_t fid, std::uint32_t dfid, std::string_view name) {
    return call(msg(20).u32(fid).u32(dfid).str(name));
  }
  Reply xattrwalk(std::uint32_t fid, std::uint32_t newfid, std::string_view name) {
    return call(msg(30).u32(fid).u32(newfid).str(name));
  }
  Reply xattrcreate(std::uint32_t fid, std::string_view name) {
    return call(msg(32).u32(fid).str(name).u64(4).u32(0));
  }
  Reply statfs(std::uint32_t fid) { return call(msg(8).u32(fid)); }
  Reply fsync(std::uint32_t fid) { return call(msg(50).u32(fid).u32(0)); }
  Reply clunk(std::uint32_t fid) { return call(msg(120).u32(fid)); }
  Reply remove(std::uint32_t fid) { return call(msg(122).u32(fid)); }

 private:
  Transport t_;
  std::uint16_t next_tag_ = 1;
};

// Rgetattr fields the tests look at.
struct Attr {
  std::uint8_t qid_type = 0;
  std::uint32_t mode = 0, uid = 0, gid = 0;
  std::uint64_t size = 0;
};

inline Attr parse_getattr(Reply r) {
  Attr a;
  r.u64();  // valid
  a.qid_type = r.u8();
  r.skip(12);
  a.mode = r.u32();
  a.uid = r.u32();
  a.gid = r.u32();
  r.u64();  // nlink
  r.u64();  // rdev
  a.size = r.u64();
  return a;
}

}  // namespace voidbox::p9::testing
