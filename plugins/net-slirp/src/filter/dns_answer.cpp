#include "filter/dns_answer.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "filter/bytes.hpp"
#include "filter/dns_message.hpp"

namespace voidbox::net {
namespace {

constexpr std::size_t kMaxNameWireLength = 255;
constexpr std::size_t kMaxLabelLength = 63;
constexpr std::uint16_t kDnsTypeCname = 5;
constexpr std::uint16_t kFlagResponse = 0x8000;
constexpr std::uint16_t kFlagTruncated = 0x0200;
constexpr std::uint16_t kOpcodeMask = 0x7800;
constexpr std::uint16_t kRcodeMask = 0x000f;
// Names followed through a CNAME chain.
constexpr std::size_t kMaxChainNames = 16;

// Reads the (possibly compressed) name at `at` into `out`, lower case and
// dotted. Returns the offset just past the name where it started, or nullopt.
// Each pointer must point before every byte read so far: offsets strictly
// decrease from jump to jump, so reading always ends.
std::optional<std::size_t> read_name(std::span<const std::uint8_t> message, std::size_t at,
                                     std::string& out) {
  out.clear();
  std::optional<std::size_t> end;
  std::size_t position = at;
  std::size_t floor = at;
  std::size_t wire_length = 0;
  while (true) {
    if (position >= message.size()) return std::nullopt;
    const std::uint8_t length = message[position];
    if ((length & 0xc0) == 0xc0) {
      if (position + 1 >= message.size()) return std::nullopt;
      const std::size_t target = (std::size_t{length & 0x3fu} << 8) | message[position + 1];
      if (target >= floor) return std::nullopt;
      if (!end) end = position + 2;
      floor = target;
      position = target;
      continue;
    }
    if ((length & 0xc0) != 0) return std::nullopt;  // reserved label types
    wire_length += 1 + length;
    if (wire_length > kMaxNameWireLength) return std::nullopt;
    if (length == 0) return end ? *end : position + 1;
    if (length > kMaxLabelLength || position + 1 + length > message.size()) return std::nullopt;
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < length; ++i) {
      out += static_cast<char>(std::tolower(message[position + 1 + i]));
    }
    position += 1 + length;
  }
}

struct Record {
  std::string owner;
  std::uint16_t type = 0;
  std::uint16_t klass = 0;
  std::uint32_t ttl = 0;
  Ipv4 address = 0;    // type A
  std::string target;  // type CNAME
};

// Reads the answer section starting at `at`; nullopt if it is malformed.
std::optional<std::vector<Record>> read_answers(std::span<const std::uint8_t> message,
                                                std::size_t at, std::size_t count) {
  std::vector<Record> records;
  count = std::min(count, kMaxUpstreamRecords);
  for (std::size_t i = 0; i < count; ++i) {
    Record record;
    auto after_name = read_name(message, at, record.owner);
    if (!after_name || *after_name + 10 > message.size()) return std::nullopt;
    const std::uint8_t* fixed = message.data() + *after_name;
    record.type = load_be16(fixed);
    record.klass = load_be16(fixed + 2);
    const std::uint32_t ttl = load_be32(fixed + 4);
    record.ttl = (ttl & 0x80000000u) != 0 ? 0 : ttl;  // RFC 2181 8: a TTL is 31 bits
    const std::size_t data_length = load_be16(fixed + 8);
    const std::size_t data_at = *after_name + 10;
    if (data_at + data_length > message.size()) return std::nullopt;
    if (record.type == kDnsTypeA && data_length == 4) {
      record.address = load_be32(message.data() + data_at);
    } else if (record.type == kDnsTypeA) {
      return std::nullopt;
    } else if (record.type == kDnsTypeCname) {
      auto after_target = read_name(message.first(data_at + data_length), data_at, record.target);
      if (!after_target || *after_target != data_at + data_length) return std::nullopt;
    }
    records.push_back(std::move(record));
    at = data_at + data_length;
  }
  return records;
}

ResolvedAddresses follow_chain(const std::vector<Record>& records, std::string_view name) {
  std::vector<std::string> names{std::string(name)};
  auto named = [&](const std::string& owner) {
    return std::find(names.begin(), names.end(), owner) != names.end();
  };
  std::uint32_t ttl = UINT32_MAX;
  // Records may come in any order: repeat until the chain stops growing.
  for (bool grew = true; grew && names.size() < kMaxChainNames;) {
    grew = false;
    for (const Record& r : records) {
      if (r.type != kDnsTypeCname || r.klass != kDnsClassIn || !named(r.owner) || named(r.target)) {
        continue;
      }
      names.push_back(r.target);
      ttl = std::min(ttl, r.ttl);
      grew = true;
      if (names.size() >= kMaxChainNames) break;
    }
  }
  ResolvedAddresses out;
  for (const Record& r : records) {
    if (r.type != kDnsTypeA || r.klass != kDnsClassIn || !named(r.owner)) continue;
    if (std::find(out.addresses.begin(), out.addresses.end(), r.address) != out.addresses.end()) {
      continue;
    }
    if (out.addresses.size() >= kMaxUpstreamAddresses) break;
    out.addresses.push_back(r.address);
    ttl = std::min(ttl, r.ttl);
  }
  out.ttl_seconds = out.addresses.empty() || ttl == UINT32_MAX ? 0 : ttl;
  return out;
}

}  // namespace

std::vector<std::uint8_t> build_dns_query(std::uint16_t id, std::string_view name) {
  std::vector<std::uint8_t> out(kDnsHeaderSize);
  store_be16(out.data(), id);
  store_be16(out.data() + 2, 0x0100);  // recursion desired
  store_be16(out.data() + 4, 1);
  if (name.size() + 2 > kMaxNameWireLength) return {};
  while (!name.empty()) {
    const std::size_t dot = std::min(name.find('.'), name.size());
    if (dot == 0 || dot > kMaxLabelLength) return {};
    out.push_back(static_cast<std::uint8_t>(dot));
    out.insert(out.end(), name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot));
    name.remove_prefix(dot == name.size() ? dot : dot + 1);
  }
  out.push_back(0);
  out.insert(out.end(), {0, kDnsTypeA, 0, kDnsClassIn});
  return out;
}

std::optional<UpstreamResult> parse_dns_answer(std::span<const std::uint8_t> message,
                                               std::uint16_t id, std::string_view name) {
  if (message.size() < kDnsHeaderSize || load_be16(message.data()) != id) return std::nullopt;
  const std::uint16_t flags = load_be16(message.data() + 2);
  if ((flags & kFlagResponse) == 0 || (flags & kOpcodeMask) != 0) return std::nullopt;
  if (load_be16(message.data() + 4) != 1) return std::nullopt;
  std::string question;
  auto after_question = read_name(message, kDnsHeaderSize, question);
  if (!after_question || *after_question + 4 > message.size() || question != name ||
      load_be16(message.data() + *after_question) != kDnsTypeA ||
      load_be16(message.data() + *after_question + 2) != kDnsClassIn) {
    return std::nullopt;
  }
  const std::uint16_t rcode = flags & kRcodeMask;
  if (rcode == static_cast<std::uint16_t>(DnsRcode::name_error)) {
    return std::unexpected(ResolveError::not_found);
  }
  if (rcode != 0) return std::unexpected(ResolveError::failed);
  auto records = read_answers(message, *after_question + 4, load_be16(message.data() + 6));
  if (!records) return std::unexpected(ResolveError::failed);
  ResolvedAddresses addresses = follow_chain(*records, name);
  if ((flags & kFlagTruncated) != 0 && addresses.addresses.empty()) {
    return std::unexpected(ResolveError::failed);
  }
  return addresses;
}

}  // namespace voidbox::net
