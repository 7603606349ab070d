// sandbox.network: the boolean shorthand, the policy object, and the exact
// message and position of each mistake.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_test_util.hpp"

namespace voidbox::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::messages;
using testing::parse_ok;

std::string sandbox_with(std::string_view network) {
  return "kind: sandbox\nsandbox:\n  network:\n" + std::string(network);
}

TEST(SpecNetwork, BooleanShorthandKeepsItsMeaning) {
  EXPECT_FALSE(parse_ok("kind: sandbox\n").sandbox.network.enabled);
  EXPECT_FALSE(parse_ok("kind: sandbox\nsandbox: {network: false}\n").sandbox.network.enabled);
  const NetworkPolicy on = parse_ok("kind: sandbox\nsandbox: {network: true}\n").sandbox.network;
  EXPECT_TRUE(on.enabled);
  EXPECT_FALSE(on.allow_domains);
  EXPECT_THAT(on.deny_cidrs, IsEmpty());
  EXPECT_EQ(on.max_connections_per_second, 50u);
  EXPECT_EQ(on.max_concurrent_connections, 64u);
}

TEST(SpecNetwork, PolicyObject) {
  const RunSpec spec =
      parse_ok(sandbox_with("    allow_domains: [api.anthropic.com, \"*.PyPI.org.\"]\n"
                            "    allow_cidrs: [192.168.10.0/24, 1.1.1.1]\n"
                            "    deny_cidrs: [203.0.113.0/24]\n"
                            "    max_connections_per_second: 10\n"
                            "    max_concurrent_connections: 8\n"
                            "    ports: [\"8080:80\", \"0:5353/udp\", \"0.0.0.0:2222:22/tcp\"]\n"));
  const NetworkPolicy& n = spec.sandbox.network;
  EXPECT_TRUE(n.enabled);  // the object form means a network
  ASSERT_TRUE(n.allow_domains);
  EXPECT_THAT(*n.allow_domains, ElementsAre("api.anthropic.com", "*.pypi.org"));
  EXPECT_THAT(n.allow_cidrs, ElementsAre("192.168.10.0/24", "1.1.1.1/32"));
  EXPECT_THAT(n.deny_cidrs, ElementsAre("203.0.113.0/24"));
  EXPECT_EQ(n.max_connections_per_second, 10u);
  EXPECT_EQ(n.max_concurrent_connections, 8u);
  ASSERT_EQ(n.ports.size(), 3u);
  EXPECT_EQ(n.ports[0].address, "127.0.0.1");
  EXPECT_EQ(n.ports[0].host_port, 8080);
  EXPECT_EQ(n.ports[0].guest_port, 80);
  EXPECT_EQ(n.ports[0].protocol, PortForward::Protocol::tcp);
  EXPECT_EQ(n.ports[1].host_port, 0);
  EXPECT_EQ(n.ports[1].protocol, PortForward::Protocol::udp);
  EXPECT_EQ(n.ports[2].address, "0.0.0.0");
  EXPECT_EQ(n.ports[2].guest_port, 22);
}

TEST(SpecNetwork, EmptyAllowDomainsIsAllowlistModeWithNothingListed) {
  const NetworkPolicy n = parse_ok(sandbox_with("    allow_domains: []\n")).sandbox.network;
  ASSERT_TRUE(n.allow_domains);
  EXPECT_THAT(*n.allow_domains, IsEmpty());
}

TEST(SpecNetwork, JsonObjectForm) {
  const RunSpec spec = parse_ok(
      R"({"kind": "sandbox", "sandbox": {"network": {"enabled": true, "allow_cidrs": ["10.9.0.0/16"]}}})",
      Format::json);
  EXPECT_THAT(spec.sandbox.network.allow_cidrs, ElementsAre("10.9.0.0/16"));
}

TEST(SpecNetwork, WrongTypes) {
  EXPECT_THAT(messages("kind: sandbox\nsandbox:\n  network: 1\n"),
              ElementsAre("spec.yaml:3:12: sandbox.network: expected true, false or a mapping, "
                          "got 1"));
  EXPECT_THAT(messages(sandbox_with("    enabled: yes\n    allow_cidrs: 10.0.0.0/8\n")),
              ElementsAre("spec.yaml:4:14: sandbox.network.enabled: expected true or false, got "
                          "string \"yes\"",
                          "spec.yaml:5:18: sandbox.network.allow_cidrs: expected a sequence, got "
                          "string \"10.0.0.0/8\""));
}

TEST(SpecNetwork, UnknownKeysSuggestTheField) {
  EXPECT_THAT(messages(sandbox_with("    allow_domain: [a.com]\n    max_connections: 5\n")),
              ElementsAre("spec.yaml:4:5: sandbox.network.allow_domain: unknown field "
                          "'allow_domain' (did you mean 'allow_domains'?)",
                          "spec.yaml:5:5: sandbox.network.max_connections: unknown field "
                          "'max_connections' (did you mean 'max_connections_per_second'?)"));
}

TEST(SpecNetwork, BadCidrs) {
  EXPECT_THAT(
      messages(sandbox_with("    allow_cidrs:\n"
                            "      - 10.0.0.1/8\n"
                            "      - 10.0.0.0/33\n"
                            "      - 300.1.1.1/32\n"
                            "      - fd00::/8\n"
                            "      - 010.0.0.0/8\n"
                            "    deny_cidrs: [nope]\n")),
      ElementsAre(
          "spec.yaml:5:9: sandbox.network.allow_cidrs[0]: '10.0.0.1/8' has host bits set (did you "
          "mean 10.0.0.0/8?)",
          "spec.yaml:6:9: sandbox.network.allow_cidrs[1]: prefix length in '10.0.0.0/33' must be 0 "
          "to 32",
          "spec.yaml:7:9: sandbox.network.allow_cidrs[2]: '300.1.1.1/32' is not an IPv4 CIDR "
          "(expected ADDRESS/PREFIX, e.g. 192.168.0.0/16)",
          "spec.yaml:8:9: sandbox.network.allow_cidrs[3]: 'fd00::/8' is IPv6; the guest network "
          "is IPv4 only",
          "spec.yaml:9:9: sandbox.network.allow_cidrs[4]: '010.0.0.0/8' is not an IPv4 CIDR "
          "(expected ADDRESS/PREFIX, e.g. 192.168.0.0/16)",
          "spec.yaml:10:18: sandbox.network.deny_cidrs[0]: 'nope' is not an IPv4 CIDR (expected "
          "ADDRESS/PREFIX, e.g. 192.168.0.0/16)"));
}

TEST(SpecNetwork, BadDomainPatterns) {
  EXPECT_THAT(
      messages(sandbox_with("    allow_domains:\n"
                            "      - \"*.com\"\n"
                            "      - \"api.*.example.com\"\n"
                            "      - \"-bad.example.com\"\n"
                            "      - \"a..b\"\n"
                            "      - \"https://example.com\"\n"
                            "      - \"exa mple.com\"\n")),
      ElementsAre(
          "spec.yaml:5:9: sandbox.network.allow_domains[0]: '*.com' would allow a whole "
          "top-level domain",
          "spec.yaml:6:9: sandbox.network.allow_domains[1]: 'api.*.example.com': '*' is "
          "allowed only as the whole first label (*.example.com)",
          "spec.yaml:7:9: sandbox.network.allow_domains[2]: '-bad.example.com' is not a "
          "domain name (labels of letters, digits, '-' and '_', 1 to 63 characters each)",
          "spec.yaml:8:9: sandbox.network.allow_domains[3]: 'a..b' is not a domain name "
          "(labels of letters, digits, '-' and '_', 1 to 63 characters each)",
          "spec.yaml:9:9: sandbox.network.allow_domains[4]: 'https://example.com' is not "
          "a domain name (labels of letters, digits, '-' and '_', 1 to 63 characters "
          "each)",
          "spec.yaml:10:9: sandbox.network.allow_domains[5]: 'exa mple.com' is not a domain "
          "name "
          "(labels of letters, digits, '-' and '_', 1 to 63 characters each)"));
}

TEST(SpecNetwork, BadPortForwards) {
  EXPECT_THAT(
      messages(sandbox_with("    ports:\n"
                            "      - \"8080\"\n"
                            "      - \"8080:0\"\n"
                            "      - \"70000:80\"\n"
                            "      - \"8080:80/sctp\"\n"
                            "      - \"localhost:8080:80\"\n"
                            "      - \"9000:90\"\n"
                            "      - \"9000:91\"\n"
                            "      - \"9000:91/udp\"\n")),
      ElementsAre("spec.yaml:5:9: sandbox.network.ports[0]: '8080' is not a port forward "
                  "(expected HOST:GUEST, HOST:GUEST/udp or ADDRESS:HOST:GUEST)",
                  "spec.yaml:6:9: sandbox.network.ports[1]: guest port in '8080:0' must be 1 to "
                  "65535",
                  "spec.yaml:7:9: sandbox.network.ports[2]: host port in '70000:80' must be 0 to "
                  "65535 (0 picks a free one)",
                  "spec.yaml:8:9: sandbox.network.ports[3]: unknown protocol 'sctp' in "
                  "'8080:80/sctp' (expected tcp or udp)",
                  "spec.yaml:9:9: sandbox.network.ports[4]: listen address 'localhost' in "
                  "'localhost:8080:80' is not an IPv4 address",
                  "spec.yaml:11:9: sandbox.network.ports[6]: host port 127.0.0.1:9000/tcp is "
                  "already forwarded (at 10:9)"));
}

TEST(SpecNetwork, LimitsAreRangeChecked) {
  EXPECT_THAT(messages(sandbox_with("    max_connections_per_second: 0\n"
                                    "    max_concurrent_connections: 65536\n")),
              ElementsAre("spec.yaml:4:33: sandbox.network.max_connections_per_second: must be "
                          "at least 1, got 0",
                          "spec.yaml:5:33: sandbox.network.max_concurrent_connections: must be "
                          "at most 65535, got 65536"));
}

TEST(SpecNetwork, DisabledPolicyWarns) {
  auto result = parse_spec(sandbox_with("    enabled: false\n    ports: [\"8080:80\"]\n"),
                           Format::yaml, "spec.yaml");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->spec.sandbox.network.enabled);
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(format_diagnostic(result->warnings[0]),
            "spec.yaml:4:14: warning: sandbox.network.enabled: the guest has no network, so the "
            "rest of this policy has no effect");
}

TEST(SpecNetwork, PipelineBoxesTakeTheSameForms) {
  const RunSpec spec = parse_ok(
      "kind: pipeline\npipeline:\n  boxes:\n"
      "    - {name: a, prompt: p, sandbox: {network: true}}\n"
      "    - {name: b, prompt: p, sandbox: {network: {allow_domains: [example.com]}}}\n"
      "    - {name: c, prompt: p, sandbox: {memory_mb: 512}}\n");
  const auto& boxes = spec.pipeline->boxes;
  ASSERT_TRUE(boxes[0].sandbox->network);
  EXPECT_TRUE(boxes[0].sandbox->network->enabled);
  ASSERT_TRUE(boxes[1].sandbox->network);
  EXPECT_THAT(*boxes[1].sandbox->network->allow_domains, ElementsAre("example.com"));
  EXPECT_FALSE(boxes[2].sandbox->network);
  EXPECT_THAT(
      messages("kind: pipeline\npipeline:\n  boxes:\n"
               "    - {name: a, prompt: p, sandbox: {network: {allow_cidrs: [1.2.3.4/8]}}}\n"),
      ElementsAre("spec.yaml:4:62: pipeline.boxes[0].sandbox.network.allow_cidrs[0]: "
                  "'1.2.3.4/8' has host bits set (did you mean 1.0.0.0/8?)"));
}

TEST(SpecNetwork, RenderedPolicyParsesBackToTheSameModel) {
  const RunSpec spec =
      parse_ok(sandbox_with("    allow_domains: [example.com, \"*.npmjs.org\"]\n"
                            "    allow_cidrs: [1.1.1.0/24]\n"
                            "    deny_cidrs: [203.0.113.0/24]\n"
                            "    max_concurrent_connections: 4\n"
                            "    ports: [\"0:80\", \"0.0.0.0:5353:53/udp\"]\n"));
  const std::string json = spec_to_json(spec);
  EXPECT_THAT(json, ::testing::HasSubstr("\"127.0.0.1:0:80\""));
  EXPECT_THAT(json, ::testing::HasSubstr("\"0.0.0.0:5353:53/udp\""));
  auto from_json = parse_spec(json, Format::json, "rendered.json");
  ASSERT_TRUE(from_json) << json;
  EXPECT_EQ(spec_to_json(from_json->spec), json);
  auto from_yaml = parse_spec(spec_to_yaml(spec), Format::yaml, "rendered.yaml");
  ASSERT_TRUE(from_yaml) << spec_to_yaml(spec);
  EXPECT_EQ(spec_to_json(from_yaml->spec), json);
  // `false` and the absent block render alike and read back as no network.
  const RunSpec off = parse_ok("kind: sandbox\nsandbox: {network: false}\n");
  auto back = parse_spec(spec_to_yaml(off), Format::yaml, "rendered.yaml");
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->spec.sandbox.network.enabled);
  EXPECT_TRUE(back->warnings.empty());
}

TEST(SpecNetwork, ProgrammaticPoliciesGetTheSameRules) {
  RunSpec spec;
  spec.kind = Kind::sandbox;
  spec.sandbox.network.enabled = true;
  spec.sandbox.network.allow_domains = std::vector<std::string>{"Example.com", "*.io"};
  spec.sandbox.network.deny_cidrs = {"10.0.0.0/8", "10.1.2.3/8"};
  spec.sandbox.network.max_connections_per_second = 0;
  spec.sandbox.network.ports = {PortForward{"::1", 80, 0, PortForward::Protocol::tcp}};
  std::vector<std::string> lines;
  for (const auto& d : validate_spec(spec)) lines.push_back(format_diagnostic(d));
  EXPECT_THAT(lines,
              ElementsAre("<spec>: sandbox.network.allow_domains[0]: 'Example.com' must be "
                          "written 'example.com'",
                          "<spec>: sandbox.network.allow_domains[1]: '*.io' would allow a whole "
                          "top-level domain",
                          "<spec>: sandbox.network.deny_cidrs[1]: '10.1.2.3/8' has host bits set "
                          "(did you mean 10.0.0.0/8?)",
                          "<spec>: sandbox.network.max_connections_per_second: must be 1 to "
                          "100000, got 0",
                          "<spec>: sandbox.network.ports[0]: guest port must be 1 to 65535",
                          "<spec>: sandbox.network.ports[0]: listen address '::1' is not an IPv4 "
                          "address"));
}

}  // namespace
}  // namespace voidbox::spec
