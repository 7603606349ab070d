#include "p9_fuzz_body.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "p9_server.hpp"
#include "p9_wire.hpp"

namespace voidbox::p9::fuzz {

namespace {

[[noreturn]] void violated(const char* what) {
  __builtin_trap();
  (void)what;
}

void check_inside(std::span<const std::byte> all, const void* p, std::size_t n) {
  if (n == 0) return;
  const auto* b = static_cast<const std::byte*>(p);
  if (b < all.data() || b + n > all.data() + all.size()) violated("view outside the message");
}

void check_inside(std::span<const std::byte> all, std::string_view s) {
  check_inside(all, s.data(), s.size());
}

std::vector<std::byte> message(std::uint8_t type, std::uint16_t tag,
                               std::initializer_list<std::uint32_t> words,
                               std::initializer_list<std::string_view> strs) {
  std::vector<std::byte> m(7);
  m[4] = std::byte(type);
  m[5] = std::byte(tag & 0xff);
  m[6] = std::byte(tag >> 8);
  auto put = [&](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) m.push_back(std::byte((v >> (8 * i)) & 0xff));
  };
  auto w = words.begin();
  auto s = strs.begin();
  if (type == kTversion) {
    put(*w++, 4);
    put(s->size(), 2);
    for (char c : *s) m.push_back(std::byte(c));
  } else {  // Tattach fid afid uname aname n_uname
    put(*w++, 4);
    put(*w++, 4);
    for (; s != strs.end(); ++s) {
      put(s->size(), 2);
      for (char c : *s) m.push_back(std::byte(c));
    }
    put(*w++, 4);
  }
  const auto n = static_cast<std::uint32_t>(m.size());
  for (int i = 0; i < 4; ++i) m[i] = std::byte((n >> (8 * i)) & 0xff);
  return m;
}

}  // namespace

int run_message(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  auto r = parse_request(in);
  if (!r) return 0;
  if (auto tag = peek_tag(in); !tag || *tag != r->tag) violated("tag disagrees");
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, Walk>) {
          if (m.count > kMaxWalkNames) violated("walk count unbounded");
          for (std::size_t i = 0; i < m.count; ++i) check_inside(in, m.names[i]);
        } else if constexpr (std::is_same_v<M, Write>) {
          check_inside(in, m.data.data(), m.data.size());
        } else if constexpr (std::is_same_v<M, Lcreate> || std::is_same_v<M, Mkdir> ||
                             std::is_same_v<M, Unlinkat> || std::is_same_v<M, Xattrwalk>) {
          check_inside(in, m.name);
        } else if constexpr (std::is_same_v<M, Symlink>) {
          check_inside(in, m.name);
          check_inside(in, m.target);
        } else if constexpr (std::is_same_v<M, Renameat>) {
          check_inside(in, m.oldname);
          check_inside(in, m.newname);
        }
      },
      r->body);
  // Replies built from what was parsed never pass their limit.
  std::vector<std::byte> out;
  ReplyBuilder b(out, 64);
  b.begin(static_cast<std::uint8_t>(r->type + 1), r->tag);
  if (const auto* w = std::get_if<Walk>(&r->body)) {
    for (std::size_t i = 0; i < w->count; ++i) b.str(w->names[i]);
  }
  b.finish();
  if (out.size() > 64) violated("reply past its limit");
  return 0;
}

int run_server(const std::uint8_t* data, std::size_t size) {
  static const std::string root = [] {
    char tmpl[] = "/tmp/p9-fuzz-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    if (dir == nullptr) std::abort();
    std::filesystem::create_directories(std::string(dir) + "/sub");
    return std::string(dir);
  }();
  ServerConfig cfg;
  cfg.root = root;
  cfg.readonly = false;
  cfg.max_fids = 64;
  auto server = Server::open(cfg);
  if (!server) std::abort();
  std::vector<std::byte> reply;
  (*server)->handle(message(kTversion, kNoTag, {65536}, {"9P2000.L"}), 65536, reply);
  (*server)->handle(message(kTattach, 1, {0, kNoFid, 1000}, {"u", ""}), 65536, reply);
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  std::size_t pos = 0;
  std::size_t limit = 128;
  while (size - pos >= 4) {
    std::uint32_t n = 0;
    std::memcpy(&n, in.data() + pos, 4);
    // Any length the input names, but never past the input.
    const std::size_t take = std::min<std::size_t>(std::max<std::uint32_t>(n, 4), size - pos);
    limit = 11 + (limit * 7 + take) % 8192;
    (*server)->handle(in.subspan(pos, take), limit, reply);
    if (reply.size() > limit) violated("reply past the transport limit");
    pos += take;
  }
  // Leave the scratch directory as it was for the next input.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    if (e.path().filename() != "sub") std::filesystem::remove_all(e.path(), ec);
  }
  return 0;
}

}  // namespace voidbox::p9::fuzz
