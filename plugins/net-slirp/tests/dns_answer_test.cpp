// The upstream side of the policy resolver: the queries it sends and the
// parsing of hostile answers.
#include "filter/dns_answer.hpp"

#include <gtest/gtest.h>

#include "filter/dns_message.hpp"
#include "test_frames.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

Bytes name_wire(std::string_view name) {
  Bytes out;
  while (!name.empty()) {
    const std::size_t dot = std::min(name.find('.'), name.size());
    out.push_back(static_cast<std::uint8_t>(dot));
    out.insert(out.end(), name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot));
    name.remove_prefix(std::min(dot + 1, name.size()));
  }
  out.push_back(0);
  return out;
}

// A response header and question for `name`; records are appended by hand.
Bytes response(std::uint16_t id, std::string_view name, std::uint16_t answers,
               std::uint16_t rcode = 0, std::uint16_t extra_flags = 0) {
  Bytes msg(12);
  put16(msg, 0, id);
  put16(msg, 2, 0x8180 | rcode | extra_flags);
  put16(msg, 4, 1);
  put16(msg, 6, answers);
  const Bytes question = name_wire(name);
  msg.insert(msg.end(), question.begin(), question.end());
  msg.insert(msg.end(), {0, 1, 0, 1});
  return msg;
}

void add_record(Bytes& msg, const Bytes& owner, std::uint16_t type, std::uint32_t ttl,
                const Bytes& data) {
  msg.insert(msg.end(), owner.begin(), owner.end());
  const std::size_t at = msg.size();
  msg.resize(at + 10);
  put16(msg, at, type);
  put16(msg, at + 2, 1);
  put32(msg, at + 4, ttl);
  put16(msg, at + 8, static_cast<std::uint32_t>(data.size()));
  msg.insert(msg.end(), data.begin(), data.end());
}

const Bytes kToQuestion = {0xc0, 12};  // a pointer to the question's name

TEST(DnsAnswer, BuildsAStandardQuery) {
  const Bytes query = build_dns_query(0x1234, "api.example.com");
  auto parsed = parse_dns_query(query);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, 0x1234);
  EXPECT_TRUE(parsed->recursion_desired);
  EXPECT_EQ(parsed->name, "api.example.com");
  EXPECT_EQ(parsed->type, kDnsTypeA);
  EXPECT_TRUE(build_dns_query(1, "a..b").empty());
  EXPECT_TRUE(build_dns_query(1, std::string(64, 'x') + ".com").empty());
  EXPECT_TRUE(build_dns_query(1, std::string(300, 'x')).empty());
}

TEST(DnsAnswer, CollectsARecordsWithTheSmallestTtl) {
  Bytes msg = response(7, "example.com", 2);
  add_record(msg, kToQuestion, 1, 300, {93, 184, 216, 34});
  add_record(msg, kToQuestion, 1, 60, {93, 184, 216, 35});
  auto result = parse_dns_answer(msg, 7, "example.com");
  ASSERT_TRUE(result && *result);
  EXPECT_EQ((*result)->addresses,
            (std::vector<Ipv4>{ipv4(93, 184, 216, 34), ipv4(93, 184, 216, 35)}));
  EXPECT_EQ((*result)->ttl_seconds, 60u);
}

TEST(DnsAnswer, FollowsTheCnameChainAndIgnoresUnrelatedRecords) {
  Bytes msg = response(7, "www.example.com", 4);
  // An A record for a name nobody asked about comes first: ignored.
  add_record(msg, name_wire("evil.test"), 1, 10, {6, 6, 6, 6});
  // The address of the CNAME target, before the CNAME itself.
  add_record(msg, name_wire("cdn.example.net"), 1, 120, {151, 101, 1, 1});
  add_record(msg, kToQuestion, 5, 30, name_wire("cdn.example.net"));
  add_record(msg, name_wire("other.example.net"), 1, 5, {1, 2, 3, 4});
  auto result = parse_dns_answer(msg, 7, "www.example.com");
  ASSERT_TRUE(result && *result);
  EXPECT_EQ((*result)->addresses, std::vector<Ipv4>{ipv4(151, 101, 1, 1)});
  EXPECT_EQ((*result)->ttl_seconds, 30u);
}

TEST(DnsAnswer, IgnoresWhatIsNotTheAnswerToThisQuery) {
  Bytes msg = response(7, "example.com", 1);
  add_record(msg, kToQuestion, 1, 60, {1, 1, 1, 1});
  EXPECT_FALSE(parse_dns_answer(msg, 8, "example.com"));  // another id
  EXPECT_FALSE(parse_dns_answer(msg, 7, "example.org"));  // another question
  Bytes query = msg;
  query[2] &= 0x7f;  // not a response
  EXPECT_FALSE(parse_dns_answer(query, 7, "example.com"));
  Bytes aaaa = msg;
  put16(aaaa, 12 + 13, 28);  // the question's type
  EXPECT_FALSE(parse_dns_answer(aaaa, 7, "example.com"));
  EXPECT_FALSE(parse_dns_answer(Bytes(msg.begin(), msg.begin() + 11), 7, "example.com"));
  // The question's name compares without regard to case.
  Bytes upper = msg;
  upper[13] = 'E';
  EXPECT_TRUE(parse_dns_answer(upper, 7, "example.com"));
}

TEST(DnsAnswer, MapsErrorCodes) {
  auto nx = parse_dns_answer(response(7, "gone.example.com", 0, 3), 7, "gone.example.com");
  ASSERT_TRUE(nx);
  ASSERT_FALSE(*nx);
  EXPECT_EQ(nx->error(), ResolveError::not_found);
  auto servfail = parse_dns_answer(response(7, "a.com", 0, 2), 7, "a.com");
  ASSERT_TRUE(servfail);
  ASSERT_FALSE(*servfail);
  EXPECT_EQ(servfail->error(), ResolveError::failed);
  auto refused = parse_dns_answer(response(7, "a.com", 0, 5), 7, "a.com");
  ASSERT_TRUE(refused && !*refused);
  // A name without A records: an empty, successful answer.
  auto nodata = parse_dns_answer(response(7, "a.com", 0), 7, "a.com");
  ASSERT_TRUE(nodata && *nodata);
  EXPECT_TRUE((*nodata)->addresses.empty());
  // Truncated without addresses: no use to the guest.
  auto truncated = parse_dns_answer(response(7, "a.com", 0, 0, 0x0200), 7, "a.com");
  ASSERT_TRUE(truncated && !*truncated);
}

TEST(DnsAnswer, RefusesCompressionLoopsAndForwardPointers) {
  // The answer's owner points at itself.
  Bytes self_loop = response(7, "a.com", 1);
  const std::size_t at = self_loop.size();
  add_record(self_loop, {0xc0, static_cast<std::uint8_t>(at)}, 1, 60, {1, 1, 1, 1});
  auto r1 = parse_dns_answer(self_loop, 7, "a.com");
  ASSERT_TRUE(r1);
  EXPECT_FALSE(*r1);
  // Two pointers pointing at each other.
  Bytes ping_pong = response(7, "a.com", 1);
  const std::size_t p = ping_pong.size();
  ping_pong.insert(ping_pong.end(),
                   {0xc0, static_cast<std::uint8_t>(p + 2), 0xc0, static_cast<std::uint8_t>(p)});
  ping_pong.insert(ping_pong.end(), {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 1, 1, 1});
  auto r2 = parse_dns_answer(ping_pong, 7, "a.com");
  ASSERT_TRUE(r2);
  EXPECT_FALSE(*r2);
  // A pointer past the end of the message.
  Bytes wild = response(7, "a.com", 1);
  add_record(wild, {0xff, 0xff}, 1, 60, {1, 1, 1, 1});
  auto r3 = parse_dns_answer(wild, 7, "a.com");
  ASSERT_TRUE(r3);
  EXPECT_FALSE(*r3);
  // The question itself compressed into a loop is not our question.
  Bytes question_loop(12);
  put16(question_loop, 0, 7);
  put16(question_loop, 2, 0x8180);
  put16(question_loop, 4, 1);
  question_loop.insert(question_loop.end(), {0xc0, 12, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_answer(question_loop, 7, "a.com"));
}

TEST(DnsAnswer, RefusesRecordsThatOverrunTheMessage) {
  Bytes msg = response(7, "a.com", 1);
  add_record(msg, kToQuestion, 1, 60, {1, 1, 1, 1});
  for (std::size_t cut = msg.size() - 14; cut < msg.size(); ++cut) {
    auto result =
        parse_dns_answer(Bytes(msg.begin(), msg.begin() + static_cast<long>(cut)), 7, "a.com");
    ASSERT_TRUE(result) << cut;
    EXPECT_FALSE(*result) << cut;
  }
  Bytes wrong_length = response(7, "a.com", 1);
  add_record(wrong_length, kToQuestion, 1, 60, {1, 1, 1, 1, 1});
  auto r = parse_dns_answer(wrong_length, 7, "a.com");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  // A CNAME whose target runs past its own record data.
  Bytes cname = response(7, "a.com", 1);
  add_record(cname, kToQuestion, 5, 60, {3, 'c', 'o'});
  cname.insert(cname.end(), {'m', 0});
  auto c = parse_dns_answer(cname, 7, "a.com");
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c);
}

TEST(DnsAnswer, BoundsAddressesAndReadsOnlyTheFirstRecords) {
  Bytes msg = response(7, "a.com", 200);
  for (int i = 0; i < 200; ++i) {
    add_record(msg, kToQuestion, 1, 60,
               {10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
  }
  auto result = parse_dns_answer(msg, 7, "a.com");
  ASSERT_TRUE(result && *result);
  EXPECT_EQ((*result)->addresses.size(), kMaxUpstreamAddresses);
  // A count that promises more records than are there fails.
  Bytes short_count = response(7, "a.com", 3);
  add_record(short_count, kToQuestion, 1, 60, {1, 1, 1, 1});
  auto r = parse_dns_answer(short_count, 7, "a.com");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  // A TTL with the top bit set counts as 0 (RFC 2181).
  Bytes high_ttl = response(7, "a.com", 1);
  add_record(high_ttl, kToQuestion, 1, 0x80000000u, {1, 1, 1, 1});
  auto h = parse_dns_answer(high_ttl, 7, "a.com");
  ASSERT_TRUE(h && *h);
  EXPECT_EQ((*h)->ttl_seconds, 0u);
}

}  // namespace
}  // namespace voidbox::net
