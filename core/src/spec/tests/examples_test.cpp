// The shipped examples: original-format specs parse unchanged, YAML and JSON
// give one model, rendered specs parse back to the same model, and env
// overrides apply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "spec_test_util.hpp"

namespace voidbox::spec {
namespace {

namespace fs = std::filesystem;
using testing::parse_ok;
using testing::read_text;
using testing::source_dir;

std::vector<fs::path> example_files() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(source_dir() / "specs" / "examples")) {
    const auto ext = entry.path().extension();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SpecExamples, EveryExampleLoads) {
  const auto files = example_files();
  ASSERT_GE(files.size(), 10u);
  for (const fs::path& file : files) {
    auto loaded = load_spec_file(file.string());
    std::string errors;
    if (!loaded) {
      for (const auto& d : loaded.error()) errors += format_diagnostic(d) + "\n";
    }
    EXPECT_TRUE(loaded.has_value()) << errors;
  }
}

TEST(SpecExamples, HackernewsAgentFromTheOriginalReadme) {
  auto loaded = load_spec_file((source_dir() / "specs/examples/hackernews_agent.yaml").string());
  ASSERT_TRUE(loaded);
  const RunSpec& spec = loaded->spec;
  EXPECT_EQ(spec.kind, Kind::agent);
  EXPECT_EQ(spec.name, "hn_researcher");
  EXPECT_EQ(spec.sandbox.memory_mb, 1024u);
  EXPECT_EQ(spec.sandbox.vcpus, 1u);  // default
  EXPECT_TRUE(spec.sandbox.network.enabled);
  EXPECT_EQ(spec.llm->provider, "ollama");
  EXPECT_EQ(spec.llm->model, "qwen3-coder");
  ASSERT_EQ(spec.agent->skills.size(), 2u);
  EXPECT_EQ(spec.agent->skills[0].type, Skill::Type::file);
  EXPECT_EQ(spec.agent->skills[0].value, "skills/hackernews-api.md");
  EXPECT_EQ(spec.agent->timeout_secs, 600u);
  EXPECT_TRUE(loaded->warnings.empty());
}

TEST(SpecExamples, OciSkillsAgentFromTheOriginalReadme) {
  auto loaded = load_spec_file((source_dir() / "specs/examples/oci-skills.yaml").string());
  ASSERT_TRUE(loaded);
  const auto& skills = loaded->spec.agent->skills;
  ASSERT_EQ(skills.size(), 4u);
  EXPECT_EQ(skills[3].type, Skill::Type::oci);
  EXPECT_EQ(skills[3].value, "eclipse-temurin:21-jdk-alpine");
  EXPECT_EQ(skills[3].mount, "/skills/java");
  EXPECT_TRUE(skills[3].readonly);
  EXPECT_THAT(*loaded->spec.agent->prompt, ::testing::HasSubstr("Report which versions"));
}

TEST(SpecExamples, YamlAndJsonGiveTheSameModel) {
  auto yaml = load_spec_file((source_dir() / "specs/examples/workflow-text.yaml").string());
  auto json = load_spec_file((source_dir() / "specs/examples/workflow-text.json").string());
  ASSERT_TRUE(yaml);
  ASSERT_TRUE(json);
  EXPECT_EQ(spec_to_json(yaml->spec), spec_to_json(json->spec));
  const auto& steps = yaml->spec.workflow->steps;
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[3].run.stdin_from, "upcase");
  EXPECT_EQ(steps[3].depends_on, (std::vector<std::string>{"upcase", "count"}));
  EXPECT_EQ(yaml->spec.workflow->output_step, "report");
}

TEST(SpecExamples, RenderedSpecsParseBackToTheSameModel) {
  for (const fs::path& file : example_files()) {
    auto loaded = load_spec_file(file.string());
    ASSERT_TRUE(loaded) << file;
    const std::string json = spec_to_json(loaded->spec);
    auto from_json = parse_spec(json, Format::json, "rendered.json");
    ASSERT_TRUE(from_json) << file << "\n" << json;
    EXPECT_EQ(spec_to_json(from_json->spec), json) << file;
    const std::string yaml = spec_to_yaml(loaded->spec);
    auto from_yaml = parse_spec(yaml, Format::yaml, "rendered.yaml");
    ASSERT_TRUE(from_yaml) << file << "\n" << yaml;
    EXPECT_EQ(spec_to_json(from_yaml->spec), json) << file;
  }
}

TEST(SpecRender, DefaultsAreFilledIn) {
  RunSpec spec = parse_ok("kind: sandbox\n");
  const std::string yaml = spec_to_yaml(spec);
  EXPECT_THAT(yaml, ::testing::HasSubstr("memory_mb: 1024"));
  EXPECT_THAT(yaml, ::testing::HasSubstr("mode: auto"));
  EXPECT_THAT(yaml, ::testing::HasSubstr("api_version: v1"));
  EXPECT_THAT(spec_to_json(spec), ::testing::HasSubstr("\"vcpus\": 1,"));
  EXPECT_EQ(spec_summary(spec), "kind sandbox");
}

TEST(SpecRender, Summaries) {
  EXPECT_EQ(spec_summary(parse_ok("kind: agent\nagent: {prompt: p, skills: [cli:jq]}\n")),
            "kind agent, 1 skill");
  EXPECT_EQ(spec_summary(parse_ok("kind: pipeline\npipeline:\n  boxes: [{name: a, prompt: p}, "
                                  "{name: b, prompt: q}]\n  stages: [{type: fan_out, boxes: [a, "
                                  "b]}]\n")),
            "kind pipeline, 2 boxes, 1 stage");
}

TEST(SpecEnvOverrides, RewriteLlmAndReportWhatChanged) {
  RunSpec spec = parse_ok("kind: workflow\nworkflow: {steps: [{name: a, run: {program: echo}}]}\n");
  std::map<std::string, std::string> env{
      {"VOIDBOX_LLM_PROVIDER", "Ollama"}, {"VOIDBOX_LLM_MODEL", "phi4-mini"}, {"UNRELATED", "x"}};
  auto overrides = apply_env_overrides(spec, [&](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  ASSERT_TRUE(spec.llm);
  EXPECT_EQ(spec.llm->provider, "ollama");
  EXPECT_EQ(spec.llm->model, "phi4-mini");
  EXPECT_FALSE(spec.llm->base_url);
  ASSERT_EQ(overrides.size(), 2u);
  EXPECT_EQ(overrides[0].variable, "VOIDBOX_LLM_PROVIDER");
  EXPECT_EQ(overrides[0].field_path, "llm.provider");
  EXPECT_EQ(overrides[1].field_path, "llm.model");
}

TEST(SpecEnvOverrides, NothingSetLeavesTheSpecAlone) {
  RunSpec spec = parse_ok("kind: sandbox\n");
  auto overrides = apply_env_overrides(spec, [](const std::string&) { return std::nullopt; });
  EXPECT_TRUE(overrides.empty());
  EXPECT_FALSE(spec.llm);
}

TEST(SpecEnvOverrides, BaseUrlAndKeyEnvKeepTheSpecProvider) {
  RunSpec spec = parse_ok("kind: agent\nllm: {provider: custom}\nagent: {prompt: p}\n");
  auto overrides = apply_env_overrides(spec, [](const std::string& name) {
    if (name == "VOIDBOX_LLM_BASE_URL") return std::optional<std::string>("http://h:1");
    if (name == "VOIDBOX_LLM_API_KEY_ENV") return std::optional<std::string>("MY_KEY");
    return std::optional<std::string>();
  });
  EXPECT_EQ(spec.llm->provider, "custom");
  EXPECT_EQ(spec.llm->base_url, "http://h:1");
  EXPECT_EQ(spec.llm->api_key_env, "MY_KEY");
  EXPECT_EQ(overrides.size(), 2u);
}

}  // namespace
}  // namespace voidbox::spec
