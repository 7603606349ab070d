#include "fuse_fuzz_body.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "fuse_server.hpp"
#include "fuse_wire.hpp"

namespace voidbox::virtiofs::fuzz {

namespace {

[[noreturn]] void violated() {
  __builtin_trap();
}

void check_inside(std::span<const std::byte> all, const void* p, std::size_t n) {
  if (n == 0) return;
  const auto* b = static_cast<const std::byte*>(p);
  if (b < all.data() || b + n > all.data() + all.size()) violated();
}

std::vector<std::byte> init_request() {
  std::vector<std::byte> m(kInHeaderSize + sizeof(fuse_init_in));
  fuse_in_header h{};
  h.len = static_cast<std::uint32_t>(m.size());
  h.opcode = FUSE_INIT;
  h.unique = 1;
  fuse_init_in in{};
  in.major = FUSE_KERNEL_VERSION;
  in.minor = FUSE_KERNEL_MINOR_VERSION;
  in.max_readahead = 65536;
  in.flags = ~0u;
  std::memcpy(m.data(), &h, sizeof h);
  std::memcpy(m.data() + sizeof h, &in, sizeof in);
  return m;
}

struct Scratch {
  Scratch() {
    char tmpl[] = "/tmp/fuse-fuzz-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    base = tmpl;
    std::filesystem::create_directories(base / "share" / "dir");
    std::filesystem::create_directories(base / "outside");
    std::filesystem::create_symlink(base / "outside", base / "share" / "escape");
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }
  std::filesystem::path base;
};

}  // namespace

int run_request(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> all(reinterpret_cast<const std::byte*>(data), size);
  auto r = parse_request(all);
  if (!r) return 0;
  if (r->header.len > size || r->header.len < kInHeaderSize) violated();
  const auto framed = all.first(r->header.len);
  check_inside(framed, r->name.data(), r->name.size());
  check_inside(framed, r->name2.data(), r->name2.size());
  check_inside(framed, r->data.data(), r->data.size());
  if (r->name.size() > kMaxLinkTarget || r->name2.size() > kMaxLinkTarget) violated();
  if (r->data.size() > kMaxIo + 0u && r->header.opcode == FUSE_WRITE) violated();
  return 0;
}

int run_server(const std::uint8_t* data, std::size_t size) {
  Scratch scratch;
  ServerConfig c;
  c.root = (scratch.base / "share").string();
  c.readonly = false;
  c.max_inodes = 64;
  c.max_handles = 16;
  auto server = Server::open(c);
  if (!server) std::abort();
  std::vector<std::byte> reply;
  const auto init = init_request();
  (*server)->handle(init, 4096, reply);
  const std::span<const std::byte> all(reinterpret_cast<const std::byte*>(data), size);
  std::size_t at = 0;
  for (int n = 0; n < 64 && at + kInHeaderSize <= all.size(); ++n) {
    fuse_in_header h{};
    std::memcpy(&h, all.data() + at, sizeof h);
    const std::size_t len = std::clamp<std::size_t>(h.len, kInHeaderSize, all.size() - at);
    const std::size_t limit = 16 + (h.unique % 8192);
    (*server)->handle(all.subspan(at, len), limit, reply);
    if (reply.size() > limit) violated();
    if (!reply.empty()) {
      if (reply.size() < kOutHeaderSize) violated();
      fuse_out_header o{};
      std::memcpy(&o, reply.data(), sizeof o);
      if (o.len != reply.size() || o.unique != h.unique || o.error > 0) violated();
    }
    at += len;
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(scratch.base / "outside", ec)) {
    (void)e;
    violated();  // the guest made something outside the share
  }
  return 0;
}

}  // namespace voidbox::virtiofs::fuzz
