// A test-side FUSE client: builds requests as the guest kernel does and
// reads replies, over any transport (the server directly, or the queue).
#pragma once

#include <linux/fuse.h>

#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::virtiofs::testing {

inline std::vector<std::byte> fuse_request(std::uint32_t opcode, std::uint64_t nodeid,
                                           const void* body, std::size_t body_size,
                                           std::initializer_list<std::string_view> names = {},
                                           std::string_view data = {}, std::uint64_t unique = 7) {
  std::vector<std::byte> m(sizeof(fuse_in_header));
  auto add = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    m.insert(m.end(), b, b + n);
  };
  add(body, body_size);
  for (std::string_view n : names) {
    add(n.data(), n.size());
    m.push_back(std::byte{0});
  }
  add(data.data(), data.size());
  fuse_in_header h{};
  h.len = static_cast<std::uint32_t>(m.size());
  h.opcode = opcode;
  h.unique = unique;
  h.nodeid = nodeid;
  h.uid = 1000;
  h.gid = 1000;
  std::memcpy(m.data(), &h, sizeof h);
  return m;
}

struct Reply {
  std::vector<std::byte> bytes;
  bool empty() const { return bytes.empty(); }
  fuse_out_header header() const {
    fuse_out_header h{};
    if (bytes.size() >= sizeof h) std::memcpy(&h, bytes.data(), sizeof h);
    return h;
  }
  int error() const { return -header().error; }
  std::size_t payload_size() const {
    return bytes.size() > sizeof(fuse_out_header) ? bytes.size() - sizeof(fuse_out_header) : 0;
  }
  template <typename T>
  T as(std::size_t at = 0) const {
    T v{};
    if (sizeof(fuse_out_header) + at + sizeof v <= bytes.size()) {
      std::memcpy(&v, bytes.data() + sizeof(fuse_out_header) + at, sizeof v);
    }
    return v;
  }
  std::string text() const {
    return {reinterpret_cast<const char*>(bytes.data()) + sizeof(fuse_out_header), payload_size()};
  }
};

class Client {
 public:
  using Send = std::function<std::vector<std::byte>(const std::vector<std::byte>&)>;
  explicit Client(Send send) : send_(std::move(send)) {}

  Reply raw(const std::vector<std::byte>& m) { return {send_(m)}; }
  template <typename T>
  Reply call(std::uint32_t op, std::uint64_t nodeid, const T& body,
             std::initializer_list<std::string_view> names = {}, std::string_view data = {}) {
    return raw(fuse_request(op, nodeid, &body, sizeof body, names, data));
  }
  Reply call(std::uint32_t op, std::uint64_t nodeid,
             std::initializer_list<std::string_view> names = {}) {
    return raw(fuse_request(op, nodeid, nullptr, 0, names));
  }

  Reply init(std::uint32_t minor = FUSE_KERNEL_MINOR_VERSION) {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = minor;
    in.max_readahead = 1 << 20;
    in.flags = FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES;
    return call(FUSE_INIT, 0, in);
  }
  Reply lookup(std::uint64_t parent, std::string_view name) {
    return call(FUSE_LOOKUP, parent, {name});
  }
  // The nodeid of `name` beneath `parent`, 0 on failure.
  std::uint64_t node(std::uint64_t parent, std::string_view name) {
    Reply r = lookup(parent, name);
    return r.error() == 0 ? r.as<fuse_entry_out>().nodeid : 0;
  }
  Reply getattr(std::uint64_t nodeid) { return call(FUSE_GETATTR, nodeid, fuse_getattr_in{}); }
  Reply open(std::uint64_t nodeid, std::uint32_t flags, bool dir = false) {
    fuse_open_in in{};
    in.flags = flags;
    return call(dir ? FUSE_OPENDIR : FUSE_OPEN, nodeid, in);
  }
  std::uint64_t fh(std::uint64_t nodeid, std::uint32_t flags, bool dir = false) {
    Reply r = open(nodeid, flags, dir);
    return r.error() == 0 ? r.as<fuse_open_out>().fh : 0;
  }
  Reply read(std::uint64_t nodeid, std::uint64_t fh, std::uint64_t offset, std::uint32_t size,
             std::uint32_t op = FUSE_READ) {
    fuse_read_in in{};
    in.fh = fh;
    in.offset = offset;
    in.size = size;
    return call(op, nodeid, in);
  }
  Reply write(std::uint64_t nodeid, std::uint64_t fh, std::uint64_t offset, std::string_view d) {
    fuse_write_in in{};
    in.fh = fh;
    in.offset = offset;
    in.size = static_cast<std::uint32_t>(d.size());
    return call(FUSE_WRITE, nodeid, in, {}, d);
  }
  Reply create(std::uint64_t parent, std::string_view name, std::uint32_t flags,
               std::uint32_t mode) {
    fuse_create_in in{};
    in.flags = flags;
    in.mode = mode;
    return call(FUSE_CREATE, parent, in, {name});
  }
  Reply mkdir(std::uint64_t parent, std::string_view name, std::uint32_t mode = 0755) {
    fuse_mkdir_in in{};
    in.mode = mode;
    return call(FUSE_MKDIR, parent, in, {name});
  }
  Reply rename(std::uint64_t from, std::string_view a, std::uint64_t to, std::string_view b,
               std::uint32_t flags = 0) {
    fuse_rename2_in in{};
    in.newdir = to;
    in.flags = flags;
    return call(FUSE_RENAME2, from, in, {a, b});
  }
  Reply release(std::uint64_t nodeid, std::uint64_t fh, bool dir = false) {
    fuse_release_in in{};
    in.fh = fh;
    return call(dir ? FUSE_RELEASEDIR : FUSE_RELEASE, nodeid, in);
  }

 private:
  Send send_;
};

// Names in a READDIR (plus == false) or READDIRPLUS reply payload.
inline std::vector<std::string> dirent_names(const Reply& r, bool plus) {
  std::vector<std::string> out;
  const std::size_t head = (plus ? sizeof(fuse_entry_out) : 0) + FUSE_NAME_OFFSET;
  std::size_t at = 0;
  while (at + head <= r.payload_size()) {
    fuse_dirent d{};
    std::memcpy(&d, r.bytes.data() + sizeof(fuse_out_header) + at + head - FUSE_NAME_OFFSET,
                FUSE_NAME_OFFSET);
    if (at + head + d.namelen > r.payload_size()) break;
    out.emplace_back(
        reinterpret_cast<const char*>(r.bytes.data()) + sizeof(fuse_out_header) + at + head,
        d.namelen);
    at += (head + d.namelen + 7) & ~std::size_t{7};
  }
  return out;
}

}  // namespace voidbox::virtiofs::testing
