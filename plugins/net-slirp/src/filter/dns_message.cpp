#include "filter/dns_message.hpp"

#include <algorithm>
#include <cctype>

#include "filter/bytes.hpp"

namespace voidbox::net {
namespace {

constexpr std::size_t kMaxNameWireLength = 255;
constexpr std::uint16_t kFlagResponse = 0x8000;
constexpr std::uint16_t kOpcodeMask = 0x7800;
constexpr std::uint16_t kFlagRecursionDesired = 0x0100;
constexpr std::uint16_t kFlagRecursionAvailable = 0x0080;

bool host_name_byte(std::uint8_t c) {
  return std::isalnum(c) || c == '-' || c == '_';
}

}  // namespace

std::optional<DnsQuery> parse_dns_query(std::span<const std::uint8_t> message) {
  if (message.size() < kDnsHeaderSize) return std::nullopt;
  const std::uint16_t flags = load_be16(&message[2]);
  if ((flags & kFlagResponse) != 0 || (flags & kOpcodeMask) != 0) return std::nullopt;
  // One question and no answers; additional records (an EDNS OPT) are ignored.
  if (load_be16(&message[4]) != 1 || load_be16(&message[6]) != 0 || load_be16(&message[8]) != 0) {
    return std::nullopt;
  }
  DnsQuery query;
  query.id = load_be16(&message[0]);
  query.recursion_desired = (flags & kFlagRecursionDesired) != 0;
  std::string name;
  bool printable = true;
  std::size_t at = kDnsHeaderSize;
  while (true) {
    if (at >= message.size()) return std::nullopt;
    const std::size_t length = message[at];
    if (length == 0) {
      ++at;
      break;
    }
    // 0xC0 is a compression pointer, 0x40/0x80 reserved label types: a
    // stub resolver's question has none.
    if (length > 63) return std::nullopt;
    if (at + 1 + length > message.size()) return std::nullopt;
    if (at + 1 + length - kDnsHeaderSize + 1 > kMaxNameWireLength) return std::nullopt;
    if (!name.empty()) name += '.';
    for (std::size_t i = 0; i < length; ++i) {
      const std::uint8_t c = message[at + 1 + i];
      printable = printable && host_name_byte(c);
      name += static_cast<char>(std::tolower(c));
    }
    at += 1 + length;
  }
  if (at + 4 > message.size()) return std::nullopt;
  query.type = load_be16(&message[at]);
  query.klass = load_be16(&message[at + 2]);
  query.question.assign(message.begin() + kDnsHeaderSize, message.begin() + at + 4);
  if (printable) query.name = std::move(name);
  return query;
}

std::vector<std::uint8_t> build_dns_response(const DnsQuery& query, DnsRcode rcode,
                                             std::span<const Ipv4> answers,
                                             std::uint32_t ttl_seconds) {
  if (rcode != DnsRcode::no_error) answers = {};
  answers = answers.first(std::min(answers.size(), kMaxDnsAnswers));
  constexpr std::size_t kAnswerSize = 16;  // pointer, type, class, ttl, length, address
  std::vector<std::uint8_t> out(kDnsHeaderSize + query.question.size() +
                                answers.size() * kAnswerSize);
  std::uint8_t* p = out.data();
  store_be16(p, query.id);
  const std::uint16_t flags = kFlagResponse | kFlagRecursionAvailable |
                              (query.recursion_desired ? kFlagRecursionDesired : 0) |
                              static_cast<std::uint16_t>(rcode);
  store_be16(p + 2, flags);
  store_be16(p + 4, 1);
  store_be16(p + 6, static_cast<std::uint16_t>(answers.size()));
  std::copy(query.question.begin(), query.question.end(), p + kDnsHeaderSize);
  p += kDnsHeaderSize + query.question.size();
  for (Ipv4 address : answers) {
    store_be16(p, 0xc000 | kDnsHeaderSize);  // the name in the question
    store_be16(p + 2, kDnsTypeA);
    store_be16(p + 4, kDnsClassIn);
    store_be32(p + 6, ttl_seconds);
    store_be16(p + 10, 4);
    store_be32(p + 12, address);
    p += kAnswerSize;
  }
  return out;
}

}  // namespace voidbox::net
