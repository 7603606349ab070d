// The policy resolver's DNS parsing and response building.
#include "filter/dns_message.hpp"

#include <gtest/gtest.h>

#include "test_frames.hpp"

namespace voidbox::net {
namespace {

using namespace testing;

TEST(DnsMessage, ParsesAStubResolversQuery) {
  auto query = parse_dns_query(dns_query(0xbeef, "Api.Example.COM", 28));
  ASSERT_TRUE(query);
  EXPECT_EQ(query->id, 0xbeef);
  EXPECT_TRUE(query->recursion_desired);
  EXPECT_EQ(query->name, "api.example.com");
  EXPECT_EQ(query->type, 28);
  EXPECT_EQ(query->klass, 1);
  // The question as sent (case kept, for resolvers that randomize it).
  EXPECT_EQ(query->question.size(), 1 + 3 + 1 + 7 + 1 + 3 + 1 + 4u);
  EXPECT_EQ(query->question[1], 'A');
}

TEST(DnsMessage, RejectsWhatAStubResolverNeverSends) {
  Bytes response = dns_query(1, "a.com");
  response[2] |= 0x80;
  EXPECT_FALSE(parse_dns_query(response));
  Bytes opcode = dns_query(1, "a.com");
  opcode[2] |= 0x28;  // UPDATE
  EXPECT_FALSE(parse_dns_query(opcode));
  Bytes two = dns_query(1, "a.com");
  put16(two, 4, 2);
  EXPECT_FALSE(parse_dns_query(two));
  Bytes answers = dns_query(1, "a.com");
  put16(answers, 6, 1);
  EXPECT_FALSE(parse_dns_query(answers));
  Bytes pointer = dns_query(1, "a.com");
  pointer[12] = 0xc0;  // compression pointer instead of the first label
  EXPECT_FALSE(parse_dns_query(pointer));
  Bytes long_label = dns_query(1, "a.com");
  long_label[12] = 64;
  EXPECT_FALSE(parse_dns_query(long_label));
  EXPECT_FALSE(parse_dns_query(Bytes(11, 0)));
}

TEST(DnsMessage, EveryTruncationIsRejected) {
  const Bytes full = dns_query(7, "www.example.org");
  const std::size_t question_end = full.size() - 11;  // before the OPT record
  for (std::size_t size = 0; size < question_end; ++size) {
    auto copy = std::make_unique<std::uint8_t[]>(size + 1);
    std::copy_n(full.begin(), size, copy.get());
    EXPECT_FALSE(parse_dns_query({copy.get(), size})) << size;
  }
  EXPECT_TRUE(parse_dns_query(Bytes(full.begin(), full.begin() + question_end)));
}

TEST(DnsMessage, NamesLongerThan255BytesAreRejected) {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(63, 'a') + ".";
  name.pop_back();  // 5 * 64 = 320 bytes on the wire
  EXPECT_FALSE(parse_dns_query(dns_query(1, name)));
  EXPECT_TRUE(parse_dns_query(dns_query(1, name.substr(0, 250))));
}

TEST(DnsMessage, LabelsWithOtherBytesMatchNoName) {
  Bytes query = dns_query(1, "evil.com");
  query[13 + 1] = '.';  // "e.il" as one label would read as two
  auto parsed = parse_dns_query(query);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->name);
}

TEST(DnsMessage, ResponseWithAnswers) {
  auto query = parse_dns_query(dns_query(0x1234, "example.com"));
  ASSERT_TRUE(query);
  const Ipv4 answers[] = {ipv4(93, 184, 216, 34), ipv4(93, 184, 216, 35)};
  const Bytes out = build_dns_response(*query, DnsRcode::no_error, answers, 300);
  EXPECT_EQ(get16(out, 0), 0x1234);
  EXPECT_EQ(get16(out, 2), 0x8180);  // response, RD, RA, NOERROR
  EXPECT_EQ(get16(out, 4), 1);
  EXPECT_EQ(get16(out, 6), 2);
  EXPECT_EQ(get16(out, 8), 0);
  EXPECT_EQ(get16(out, 10), 0);
  const std::size_t first = 12 + query->question.size();
  ASSERT_EQ(out.size(), first + 32);
  EXPECT_EQ(get16(out, first), 0xc00c);
  EXPECT_EQ(get16(out, first + 2), 1);
  EXPECT_EQ(get16(out, first + 4), 1);
  EXPECT_EQ(get32(out, first + 6), 300u);
  EXPECT_EQ(get16(out, first + 10), 4);
  EXPECT_EQ(get32(out, first + 12), ipv4(93, 184, 216, 34));
  EXPECT_EQ(get32(out, first + 28), ipv4(93, 184, 216, 35));
}

TEST(DnsMessage, ErrorResponsesCarryNoAnswers) {
  auto query = parse_dns_query(dns_query(9, "blocked.net"));
  ASSERT_TRUE(query);
  const Ipv4 ignored[] = {ipv4(1, 1, 1, 1)};
  const Bytes out = build_dns_response(*query, DnsRcode::name_error, ignored, 60);
  EXPECT_EQ(get16(out, 2) & 0x000f, 3);
  EXPECT_EQ(get16(out, 6), 0);
  EXPECT_EQ(out.size(), 12 + query->question.size());
}

TEST(DnsMessage, AnswersAreCapped) {
  auto query = parse_dns_query(dns_query(9, "many.example"));
  ASSERT_TRUE(query);
  const std::vector<Ipv4> lots(100, ipv4(8, 8, 4, 4));
  const Bytes out = build_dns_response(*query, DnsRcode::no_error, lots, 60);
  EXPECT_EQ(get16(out, 6), kMaxDnsAnswers);
  EXPECT_LE(out.size(), 512u);
}

}  // namespace
}  // namespace voidbox::net
