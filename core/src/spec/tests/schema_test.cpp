// The JSON Schema must describe exactly the fields the parser accepts. No
// JSON Schema validator is available here, so examples are not checked
// against it; this keeps the schema and the parser's field tables in step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "spec_test_util.hpp"

namespace voidbox::spec {
namespace {

namespace json = boost::json;

json::object load_schema() {
  const std::string text =
      testing::read_text(testing::source_dir() / "specs/schema/voidbox-spec.schema.json");
  boost::system::error_code ec;
  json::value schema = json::parse(text, ec);
  EXPECT_FALSE(ec) << "schema is not valid JSON: " << ec.message();
  return schema.is_object() ? schema.get_object() : json::object{};
}

std::set<std::string> property_names(const json::object& def) {
  std::set<std::string> out;
  if (const auto* properties = def.if_contains("properties")) {
    for (const auto& entry : properties->as_object()) out.insert(std::string(entry.key()));
  }
  return out;
}

TEST(SpecSchema, IsDraft202012) {
  json::object schema = load_schema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

TEST(SpecSchema, EveryBlockListsExactlyTheParsersFields) {
  json::object schema = load_schema();
  const json::object* defs = schema.if_contains("$defs") ? &schema["$defs"].as_object() : nullptr;
  ASSERT_NE(defs, nullptr);
  for (const FieldTable& table : field_tables()) {
    const json::object* def = &schema;
    if (!table.block.empty()) {
      const json::value* found = defs->if_contains(table.block);
      ASSERT_NE(found, nullptr) << "schema has no $defs/" << table.block;
      def = &found->as_object();
    }
    std::set<std::string> expected(table.fields.begin(), table.fields.end());
    EXPECT_EQ(property_names(*def), expected) << "block '" << table.block << "'";
    const json::value* additional = def->if_contains("additionalProperties");
    ASSERT_NE(additional, nullptr) << table.block;
    EXPECT_EQ(*additional, false) << "block '" << table.block << "' must be closed";
  }
}

TEST(SpecSchema, KindEnumMatchesTheModel) {
  json::object schema = load_schema();
  const json::array& kinds =
      schema["properties"].as_object()["kind"].as_object()["enum"].as_array();
  std::vector<std::string> names;
  for (const auto& k : kinds) names.push_back(std::string(k.as_string()));
  EXPECT_THAT(names, ::testing::ElementsAre(to_string(Kind::agent), to_string(Kind::pipeline),
                                            to_string(Kind::workflow), to_string(Kind::sandbox)));
}

}  // namespace
}  // namespace voidbox::spec
