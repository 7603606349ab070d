// The 9P2000.L wire format: little-endian integers, strings as u16 length +
// bytes, every message `size[4] type[1] tag[2] body`.
//
// parse_request() turns one guest message into a typed request without
// allocating for anything the guest sizes: strings and write data are views
// into the message, every length is checked against what is left before it
// is used, walks hold at most kMaxWalkNames names, and a message whose size
// field disagrees with its length is refused. Reply builders write into a
// byte vector and never grow it past the limit they are given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace voidbox::p9 {

inline constexpr std::size_t kHeaderSize = 7;
inline constexpr std::size_t kMaxWalkNames = 16;  // MAXWELEM
inline constexpr std::uint32_t kNoFid = 0xffffffffu;
inline constexpr std::uint16_t kNoTag = 0xffff;

enum Type : std::uint8_t {
  kTlerror = 6,
  kRlerror = 7,
  kTstatfs = 8,
  kTlopen = 12,
  kTlcreate = 14,
  kTsymlink = 16,
  kTmknod = 18,
  kTrename = 20,
  kTreadlink = 22,
  kTgetattr = 24,
  kTsetattr = 26,
  kTxattrwalk = 30,
  kTxattrcreate = 32,
  kTreaddir = 40,
  kTfsync = 50,
  kTlock = 52,
  kTgetlock = 54,
  kTlink = 70,
  kTmkdir = 72,
  kTrenameat = 74,
  kTunlinkat = 76,
  kTversion = 100,
  kTauth = 102,
  kTattach = 104,
  kTflush = 108,
  kTwalk = 110,
  kTread = 116,
  kTwrite = 118,
  kTclunk = 120,
  kTremove = 122,
};

inline constexpr std::uint8_t kQidDir = 0x80;
inline constexpr std::uint8_t kQidSymlink = 0x02;
inline constexpr std::uint8_t kQidFile = 0x00;

struct Qid {
  std::uint8_t type = kQidFile;
  std::uint32_t version = 0;
  std::uint64_t path = 0;
};

struct Version {
  std::uint32_t msize;
  std::string_view version;
};
struct Auth {
  std::uint32_t afid;
  std::string_view uname, aname;
  std::uint32_t n_uname;
};
struct Attach {
  std::uint32_t fid, afid;
  std::string_view uname, aname;
  std::uint32_t n_uname;
};
struct Flush {
  std::uint16_t oldtag;
};
struct Walk {
  std::uint32_t fid, newfid;
  std::uint16_t count;
  std::string_view names[kMaxWalkNames];
};
struct Lopen {
  std::uint32_t fid, flags;
};
struct Lcreate {
  std::uint32_t fid;
  std::string_view name;
  std::uint32_t flags, mode, gid;
};
struct Symlink {
  std::uint32_t fid;
  std::string_view name, target;
  std::uint32_t gid;
};
struct Mknod {
  std::uint32_t dfid;
  std::string_view name;
  std::uint32_t mode, major, minor, gid;
};
struct Rename {
  std::uint32_t fid, dfid;
  std::string_view name;
};
struct Readlink {
  std::uint32_t fid;
};
struct Getattr {
  std::uint32_t fid;
  std::uint64_t mask;
};
struct Setattr {
  std::uint32_t fid, valid, mode, uid, gid;
  std::uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};
struct Xattrwalk {
  std::uint32_t fid, newfid;
  std::string_view name;
};
struct Xattrcreate {
  std::uint32_t fid;
  std::string_view name;
  std::uint64_t size;
  std::uint32_t flags;
};
struct Readdir {
  std::uint32_t fid;
  std::uint64_t offset;
  std::uint32_t count;
};
struct Fsync {
  std::uint32_t fid, datasync;
};
struct Lock {
  std::uint32_t fid;
  std::uint8_t type;
  std::uint32_t flags;
  std::uint64_t start, length;
  std::uint32_t proc_id;
  std::string_view client_id;
};
struct Getlock {
  std::uint32_t fid;
  std::uint8_t type;
  std::uint64_t start, length;
  std::uint32_t proc_id;
  std::string_view client_id;
};
struct Link {
  std::uint32_t dfid, fid;
  std::string_view name;
};
struct Mkdir {
  std::uint32_t dfid;
  std::string_view name;
  std::uint32_t mode, gid;
};
struct Renameat {
  std::uint32_t olddfid;
  std::string_view oldname;
  std::uint32_t newdfid;
  std::string_view newname;
};
struct Unlinkat {
  std::uint32_t dfid;
  std::string_view name;
  std::uint32_t flags;
};
struct Read {
  std::uint32_t fid;
  std::uint64_t offset;
  std::uint32_t count;
};
struct Write {
  std::uint32_t fid;
  std::uint64_t offset;
  std::span<const std::byte> data;
};
struct Clunk {
  std::uint32_t fid;
};
struct Remove {
  std::uint32_t fid;
};
struct Statfs {
  std::uint32_t fid;
};

using Body =
    std::variant<Version, Auth, Attach, Flush, Walk, Lopen, Lcreate, Symlink, Mknod, Rename,
                 Readlink, Getattr, Setattr, Xattrwalk, Xattrcreate, Readdir, Fsync, Lock, Getlock,
                 Link, Mkdir, Renameat, Unlinkat, Read, Write, Clunk, Remove, Statfs>;

struct Request {
  std::uint8_t type = 0;
  std::uint16_t tag = kNoTag;
  Body body;
};

enum class ParseError {
  kShort,         // fewer than 7 bytes, or the size field disagrees with the length
  kTruncated,     // a field runs past the end of the message
  kTrailing,      // bytes left after the last field
  kTooManyNames,  // a walk of more than kMaxWalkNames names
  kUnknownType,   // not a T-message this server knows
};

const char* to_string(ParseError e);

// The tag of a message (for an error reply), if it has a whole header.
std::expected<std::uint16_t, ParseError> peek_tag(std::span<const std::byte> message);
std::expected<Request, ParseError> parse_request(std::span<const std::byte> message);

// Builds one reply. Start with begin(), append fields, then finish(); when a
// field would take the reply past `limit` bytes the builder stops writing and
// ok() turns false.
class ReplyBuilder {
 public:
  ReplyBuilder(std::vector<std::byte>& out, std::size_t limit) : out_(out), limit_(limit) {}
  void begin(std::uint8_t type, std::uint16_t tag);
  void u8(std::uint8_t v) { put(&v, 1); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void str(std::string_view s);
  void qid(const Qid& q);
  void bytes(std::span<const std::byte> b) { put(b.data(), b.size()); }
  // Reserves n bytes and returns where they start (for in-place reads), or
  // nullptr when they do not fit.
  std::byte* reserve(std::size_t n);
  void shrink(std::size_t n);  // gives back the last n reserved bytes
  // Overwrites a u32 written earlier at byte offset `at` (a count known late).
  void patch_u32(std::size_t at, std::uint32_t v);
  void finish();
  bool ok() const { return ok_; }
  std::size_t size() const { return out_.size(); }
  std::size_t room() const { return limit_ > out_.size() ? limit_ - out_.size() : 0; }

 private:
  void put(const void* p, std::size_t n);
  std::vector<std::byte>& out_;
  std::size_t limit_;
  bool ok_ = true;
};

// Rlerror{ecode} for `tag`; always fits 11 bytes.
void build_error(std::vector<std::byte>& out, std::uint16_t tag, std::uint32_t ecode);

}  // namespace voidbox::p9
