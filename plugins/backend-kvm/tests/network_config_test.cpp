#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "vmm/vm_config.hpp"

namespace voidbox::kvm {
namespace {

constexpr const char* kBase = R"("kernel":"/k","state_dir":"/s")";

Result<VmConfig> parse_with_network(const std::string& network) {
  return parse_vm_config("{" + std::string(kBase) + ",\"network\":" + network + "}");
}

TEST(VmNetworkConfig, AbsentOrFalseMeansNoNic) {
  auto absent = parse_vm_config("{" + std::string(kBase) + "}");
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_FALSE(absent->network.enabled);
  auto off = parse_with_network("false");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->network.enabled);
}

TEST(VmNetworkConfig, TrueMeansSlirpWithDefaults) {
  auto on = parse_with_network("true");
  ASSERT_TRUE(on) << on.error().message;
  EXPECT_TRUE(on->network.enabled);
  EXPECT_EQ(on->network.transport, "slirp");
  EXPECT_EQ(on->network.transport_config_json, "{}");
  EXPECT_EQ(on->network.device_config_json, "{}");
}

TEST(VmNetworkConfig, TheObjectCarriesBothPluginConfigsVerbatim) {
  auto c = parse_with_network(
      R"({"transport":"passt","transport_config":{"policy":{"allow_domains":["a.com"]}},
          "device_config":{"mac":"52:54:00:00:00:01"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->network.enabled);
  EXPECT_EQ(c->network.transport, "passt");
  EXPECT_EQ(boost::json::parse(c->network.transport_config_json),
            boost::json::parse(R"({"policy":{"allow_domains":["a.com"]}})"));
  EXPECT_EQ(boost::json::parse(c->network.device_config_json),
            boost::json::parse(R"({"mac":"52:54:00:00:00:01"})"));
}

TEST(VmNetworkConfig, BadShapesNameTheKey) {
  const auto err = [](const std::string& network) {
    auto c = parse_with_network(network);
    return c ? std::string() : c.error().message;
  };
  EXPECT_NE(err("1").find("\"network\" must be a boolean or an object"), std::string::npos);
  EXPECT_NE(err(R"({"transport":""})").find("network.transport"), std::string::npos);
  EXPECT_NE(err(R"({"transport":3})").find("network.transport"), std::string::npos);
  EXPECT_NE(err(R"({"transport_config":[]})").find("network.transport_config"), std::string::npos);
  EXPECT_NE(err(R"({"device_config":"x"})").find("network.device_config"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::kvm
