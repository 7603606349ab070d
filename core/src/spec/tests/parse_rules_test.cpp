// Each rule of the spec format, with the exact message a user sees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_test_util.hpp"

namespace voidbox::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::messages;
using testing::parse_ok;

TEST(SpecSyntax, BadYamlReportsYamlCppPosition) {
  EXPECT_THAT(messages("kind: agent\nagent: [1, 2\nname: x\n"),
              ElementsAre("spec.yaml:3:5: invalid YAML: end of sequence flow not found"));
}

TEST(SpecSyntax, BadJsonReportsOffsetAsLineColumn) {
  EXPECT_THAT(messages("{\n  \"kind\": \"agent\",\n}\n", Format::json, "spec.json"),
              ElementsAre("spec.json:3:1: invalid JSON: syntax error"));
}

TEST(SpecSyntax, JsonCommentsAreRejectedEvenThoughYamlWouldAcceptThem) {
  EXPECT_THAT(messages("{\"kind\": \"agent\" # no\n}", Format::json, "spec.json"),
              ElementsAre("spec.json:1:18: invalid JSON: syntax error"));
}

TEST(SpecSyntax, JsonSurrogatePairsAndEscapedBackslashes) {
  RunSpec spec =
      parse_ok(R"({"kind": "agent", "agent": {"prompt": "hi \ud83d\ude00 \u00e9 \\ud83d \/"}})",
               Format::json);
  EXPECT_EQ(*spec.agent->prompt, "hi \xF0\x9F\x98\x80 \xC3\xA9 \\ud83d /");
}

TEST(SpecSyntax, EmptyAndNonMappingDocuments) {
  EXPECT_THAT(messages(""), ElementsAre("spec.yaml:1:1: spec is empty"));
  EXPECT_THAT(messages("- a\n- b\n"),
              ElementsAre("spec.yaml:1:1: expected a mapping, got a sequence"));
}

TEST(SpecTypes, WrongTypesNameTheFieldAndTheValue) {
  EXPECT_THAT(messages("kind: agent\n"
                       "sandbox:\n"
                       "  memory_mb: lots\n"
                       "  vcpus: -2\n"
                       "  network: \"yes\"\n"
                       "  mounts: {}\n"
                       "agent:\n"
                       "  prompt: [a]\n"
                       "  timeout_secs: 1.5\n"),
              ElementsAre("spec.yaml:3:14: sandbox.memory_mb: expected an integer, got string "
                          "\"lots\"",
                          "spec.yaml:4:10: sandbox.vcpus: must not be negative, got -2",
                          "spec.yaml:5:12: sandbox.network: expected true, false or a mapping, "
                          "got string \"yes\"",
                          "spec.yaml:6:11: sandbox.mounts: expected a sequence, got a mapping",
                          "spec.yaml:8:11: agent.prompt: expected a string, got a sequence",
                          "spec.yaml:9:17: agent.timeout_secs: expected an integer, got 1.5"));
}

TEST(SpecTypes, RangesAreChecked) {
  EXPECT_THAT(messages("kind: sandbox\nsandbox:\n  memory_mb: 0\n  vcpus: 1000\n"),
              ElementsAre("spec.yaml:3:14: sandbox.memory_mb: must be at least 1, got 0",
                          "spec.yaml:4:10: sandbox.vcpus: must be at most 255, got 1000"));
  EXPECT_THAT(
      messages("kind: agent\nagent:\n  prompt: x\n  timeout_secs: 99999999999999999999999\n"),
      ElementsAre("spec.yaml:4:17: agent.timeout_secs: must be at most 18446744073709551615, got "
                  "99999999999999999999999"));
}

TEST(SpecTypes, YamlPlainNumbersAreStringsButJsonNumbersAreNot) {
  RunSpec spec = parse_ok(
      "kind: workflow\nworkflow:\n  steps:\n"
      "    - name: 7\n      run: {program: sleep, args: [10]}\n");
  EXPECT_EQ(spec.workflow->steps[0].name, "7");
  EXPECT_EQ(spec.workflow->steps[0].run.args, std::vector<std::string>{"10"});
  EXPECT_THAT(messages(R"({"kind": "sandbox", "name": 5})", Format::json, "spec.json"),
              ElementsAre("spec.json:1:29: name: expected a string, got 5"));
  EXPECT_THAT(messages("kind: sandbox\nname: true\n"),
              ElementsAre("spec.yaml:2:7: name: expected a string, got true"));
}

TEST(SpecTypes, NullMeansNotSet) {
  RunSpec spec = parse_ok("kind: sandbox\nname: ~\nllm: null\nsandbox:\n  kernel:\n");
  EXPECT_FALSE(spec.name);
  EXPECT_FALSE(spec.llm);
  EXPECT_FALSE(spec.sandbox.kernel);
}

TEST(SpecFields, UnknownFieldsSuggestTheClosestName) {
  EXPECT_THAT(messages("kind: agent\n"
                       "sandbox:\n"
                       "  memroy_mb: 512\n"
                       "agent:\n"
                       "  prompt: hi\n"
                       "  timeout: 5\n"
                       "  frobnicate: 1\n"),
              ElementsAre("spec.yaml:3:3: sandbox.memroy_mb: unknown field 'memroy_mb' (did you "
                          "mean 'memory_mb'?)",
                          "spec.yaml:6:3: agent.timeout: unknown field 'timeout' (did you mean "
                          "'timeout_secs'?)",
                          "spec.yaml:7:3: agent.frobnicate: unknown field 'frobnicate'"));
}

TEST(SpecFields, DuplicateKeysAreErrors) {
  EXPECT_THAT(messages("kind: agent\nagent:\n  prompt: a\n  prompt: b\n"),
              ElementsAre("spec.yaml:4:3: agent.prompt: duplicate field 'prompt' (first set at "
                          "3:3)"));
}

TEST(SpecFields, MissingRequiredFields) {
  EXPECT_THAT(messages("name: x\n"), ElementsAre("spec.yaml:1:1: kind: missing required field"));
  EXPECT_THAT(messages("kind: agent\nagent:\n  skills: [\"agent:claude-code\"]\n"),
              ElementsAre("spec.yaml:2:1: agent.prompt: missing required field (needed unless "
                          "agent.mode is interactive)"));
  EXPECT_THAT(messages("kind: agent\nagent:\n  prompt: \"  \"\n"),
              ElementsAre("spec.yaml:3:3: agent.prompt: must not be empty"));
  EXPECT_THAT(messages("kind: agent\nllm:\n  model: x\nagent:\n  prompt: p\n"),
              ElementsAre("spec.yaml:3:3: llm.provider: missing required field"));
}

TEST(SpecEnums, UnknownValuesListTheAlternatives) {
  EXPECT_THAT(messages("kind: workflw\n"),
              ElementsAre("spec.yaml:1:7: kind: unknown value 'workflw' (expected agent, "
                          "pipeline, workflow or sandbox; did you mean 'workflow'?)"));
  EXPECT_THAT(messages("kind: agent\nsandbox:\n  mode: vm\nagent:\n  prompt: p\n  mode: batch\n"),
              ElementsAre("spec.yaml:3:9: sandbox.mode: unknown value 'vm' (expected auto, local "
                          "or mock)",
                          "spec.yaml:6:9: agent.mode: unknown value 'batch' (expected task, "
                          "service or interactive)"));
}

TEST(SpecEnums, SandboxModeAndProviderIgnoreCaseLikeTheOriginal) {
  RunSpec spec = parse_ok(
      "kind: agent\nsandbox: {mode: Mock}\nllm: {provider: Ollama}\n"
      "agent: {prompt: p}\n");
  EXPECT_EQ(spec.sandbox.mode, SandboxMode::mock);
  EXPECT_EQ(spec.llm->provider, "ollama");
}

TEST(SpecEnums, UnknownProviderIsAWarningAndRunsAsClaude) {
  auto result = parse_spec("kind: agent\nllm:\n  provider: olama\nagent:\n  prompt: p\n",
                           Format::yaml, "spec.yaml");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->spec.llm->provider, "claude");
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(format_diagnostic(result->warnings[0]),
            "spec.yaml:3:13: warning: llm.provider: unknown provider 'olama' (known: claude, "
            "claude-personal, codex, ollama, lm-studio or custom); it runs as claude (did you "
            "mean 'ollama'?)");
}

TEST(SpecEnums, ApiVersionMustBeV1) {
  EXPECT_THAT(messages("api_version: v2\nkind: sandbox\n"),
              ElementsAre("spec.yaml:1:14: api_version: unsupported value 'v2' (expected v1)"));
  EXPECT_EQ(parse_ok("kind: sandbox\n").api_version, "v1");
}

TEST(SpecAgentMode, ServiceRules) {
  EXPECT_THAT(messages("kind: agent\n"
                       "llm:\n"
                       "  provider: claude\n"
                       "  credential_proxy: true\n"
                       "agent:\n"
                       "  prompt: run\n"
                       "  mode: service\n"
                       "  timeout_secs: 60\n"),
              ElementsAre("spec.yaml:4:3: llm.credential_proxy: not allowed when agent.mode is "
                          "service",
                          "spec.yaml:7:3: agent.output_file: required when agent.mode is service",
                          "spec.yaml:8:3: agent.timeout_secs: not allowed when agent.mode is "
                          "service"));
  RunSpec spec = parse_ok(
      "kind: agent\nagent:\n  prompt: run\n  mode: service\n"
      "  output_file: /workspace/out.json\n");
  EXPECT_EQ(spec.agent->mode, AgentMode::service);
}

TEST(SpecAgentMode, InteractiveNeedsNoPromptAndNoTimeout) {
  RunSpec spec = parse_ok("kind: agent\nagent:\n  mode: interactive\n");
  EXPECT_EQ(spec.agent->mode, AgentMode::interactive);
  EXPECT_FALSE(spec.agent->prompt);
  EXPECT_THAT(messages("kind: agent\nagent:\n  mode: interactive\n  timeout_secs: 5\n"),
              ElementsAre("spec.yaml:4:3: agent.timeout_secs: not allowed when agent.mode is "
                          "interactive"));
}

TEST(SpecKind, KindNeedsItsBlock) {
  EXPECT_THAT(messages("kind: workflow\nname: w\n"),
              ElementsAre("spec.yaml:1:1: workflow: required when kind is workflow"));
  EXPECT_THAT(messages("kind: sandbox\nagent:\n  prompt: p\n"),
              ElementsAre("spec.yaml:2:1: agent: not allowed when kind is sandbox"));
  EXPECT_THAT(messages("kind: agent\nagent: {prompt: p}\nworkflow: {steps: [{name: a, run: "
                       "{program: echo}}]}\n"),
              ElementsAre("spec.yaml:3:1: warning: workflow: ignored when kind is agent"));
}

TEST(SpecSkills, StringAndObjectForms) {
  RunSpec spec = parse_ok(
      "kind: agent\nagent:\n  prompt: p\n  skills:\n"
      "    - \"agent:claude-code\"\n    - \"file:skills/x.md\"\n    - remote:o/r/s\n"
      "    - cli:jq\n    - mcp:void-mcp\n"
      "    - {image: \"python:3.12\", mount: /skills/py, readonly: false}\n");
  const auto& skills = spec.agent->skills;
  ASSERT_EQ(skills.size(), 6u);
  EXPECT_EQ(skills[0].type, Skill::Type::agent);
  EXPECT_EQ(skills[0].value, "claude-code");
  EXPECT_EQ(skills[1].type, Skill::Type::file);
  EXPECT_EQ(skills[2].type, Skill::Type::remote);
  EXPECT_EQ(skills[3].type, Skill::Type::cli);
  EXPECT_EQ(skills[4].type, Skill::Type::mcp);
  EXPECT_EQ(skills[5].type, Skill::Type::oci);
  EXPECT_EQ(skills[5].value, "python:3.12");
  EXPECT_EQ(skills[5].mount, "/skills/py");
  EXPECT_FALSE(skills[5].readonly);
  EXPECT_EQ(skills[5].where.line, 10);
}

TEST(SpecSkills, MalformedSkills) {
  EXPECT_THAT(messages("kind: agent\nagent:\n  prompt: p\n  skills:\n"
                       "    - claude-code\n"
                       "    - fiel:x.md\n"
                       "    - \"cli:\"\n"
                       "    - remote:just-a-name\n"
                       "    - {image: alpine}\n"
                       "    - {image: alpine, mount: skills/a}\n"
                       "    - [x]\n"),
              ElementsAre("spec.yaml:5:7: agent.skills[0]: skill 'claude-code' must have the "
                          "form <type>:<value> with type agent, file, remote, cli or mcp",
                          "spec.yaml:6:7: agent.skills[1]: unknown skill type 'fiel' (expected "
                          "agent, file, remote, cli or mcp; did you mean 'file'?)",
                          "spec.yaml:7:7: agent.skills[2]: skill 'cli:' has an empty value",
                          "spec.yaml:8:7: agent.skills[3]: remote skill 'just-a-name' must have "
                          "the form owner/repo/skill",
                          "spec.yaml:9:7: agent.skills[4].mount: missing required field",
                          "spec.yaml:10:30: agent.skills[5].mount: guest path must be absolute, "
                          "got 'skills/a'",
                          "spec.yaml:11:7: agent.skills[6]: expected a skill string "
                          "\"<type>:<value>\" or {image, mount}, got a sequence"));
}

TEST(SpecMounts, MountsAndEnv) {
  RunSpec spec = parse_ok(
      "kind: sandbox\nsandbox:\n  env: {A: x, B: \"\", C:}\n  mounts:\n"
      "    - {host: ./d, guest: /data, mode: rw}\n"
      "    - {host: ./c, guest: /config}\n");
  EXPECT_EQ(spec.sandbox.env.at("A"), "x");
  EXPECT_EQ(spec.sandbox.env.at("B"), "");
  EXPECT_EQ(spec.sandbox.env.at("C"), "");
  ASSERT_EQ(spec.sandbox.mounts.size(), 2u);
  EXPECT_FALSE(spec.sandbox.mounts[0].readonly);
  EXPECT_TRUE(spec.sandbox.mounts[1].readonly);
  EXPECT_EQ(spec.sandbox.mounts[1].type, MountType::ninep);
  EXPECT_THAT(messages("kind: sandbox\nsandbox:\n  env: {1BAD: x}\n  mounts:\n"
                       "    - {host: ./d, guest: data, mode: rx}\n    - {guest: /x}\n"),
              ElementsAre("spec.yaml:3:9: sandbox.env.1BAD: '1BAD' is not a valid environment "
                          "variable name",
                          "spec.yaml:5:26: sandbox.mounts[0].guest: guest path must be absolute, "
                          "got 'data'",
                          "spec.yaml:5:38: sandbox.mounts[0].mode: unknown value 'rx' (expected "
                          "ro or rw; did you mean 'ro'?)",
                          "spec.yaml:6:7: sandbox.mounts[1].host: missing required field"));
}

TEST(SpecMounts, TypeChoosesTheShareDevice) {
  RunSpec spec = parse_ok(
      "kind: sandbox\nsandbox:\n  mounts:\n"
      "    - {host: ./d, guest: /data, mode: rw, type: virtiofs}\n"
      "    - {host: ./c, guest: /config, type: 9p}\n");
  ASSERT_EQ(spec.sandbox.mounts.size(), 2u);
  EXPECT_EQ(spec.sandbox.mounts[0].type, MountType::virtiofs);
  EXPECT_EQ(spec.sandbox.mounts[1].type, MountType::ninep);
  EXPECT_THAT(messages("kind: sandbox\nsandbox:\n  mounts:\n"
                       "    - {host: ./d, guest: /data, type: nfs}\n"),
              ElementsAre(::testing::HasSubstr("sandbox.mounts[0].type: unknown value 'nfs' "
                                               "(expected 9p or virtiofs")));
}

TEST(SpecPipeline, NoBoxes) {
  EXPECT_THAT(messages("kind: pipeline\npipeline:\n  boxes: []\n"),
              ElementsAre("spec.yaml:3:3: pipeline.boxes: must not be empty (a pipeline needs "
                          "at least one box)"));
  EXPECT_THAT(messages("kind: pipeline\npipeline: {}\n"),
              ElementsAre("spec.yaml:2:1: pipeline.boxes: must not be empty (a pipeline needs "
                          "at least one box)"));
}

TEST(SpecPipeline, ReferencesAndNames) {
  EXPECT_THAT(messages("kind: pipeline\n"
                       "pipeline:\n"
                       "  boxes:\n"
                       "    - {name: analyst, prompt: a, outputs: [{name: facts}]}\n"
                       "    - {name: writer, prompt: b, inputs: [{from: fact}]}\n"
                       "    - {name: writer, prompt: c}\n"
                       "    - {name: idle, prompt: d}\n"
                       "  stages:\n"
                       "    - {type: box, name: analyts}\n"
                       "    - {type: fan_out, boxes: [writer, nobody]}\n"
                       "    - {type: fan_out, boxes: []}\n"
                       "    - {type: box, name: writer, boxes: [x]}\n"
                       "    - {type: parallel}\n"),
              ElementsAre("spec.yaml:4:7: warning: pipeline.boxes[0]: box 'analyst' is not used "
                          "by any stage",
                          "spec.yaml:5:43: pipeline.boxes[1].inputs[0].from: unknown output "
                          "'fact' (did you mean 'facts'?)",
                          "spec.yaml:6:8: pipeline.boxes[2].name: duplicate box name 'writer' "
                          "(first defined at 5:7)",
                          "spec.yaml:7:7: warning: pipeline.boxes[3]: box 'idle' is not used by "
                          "any stage",
                          "spec.yaml:9:19: pipeline.stages[0].name: unknown box 'analyts' (did "
                          "you mean 'analyst'?)",
                          "spec.yaml:10:39: pipeline.stages[1].boxes[1]: unknown box 'nobody'",
                          "spec.yaml:11:23: pipeline.stages[2].boxes: must not be empty (fan_out "
                          "needs at least one box)",
                          "spec.yaml:12:40: pipeline.stages[3].boxes: not allowed when type is "
                          "box",
                          "spec.yaml:13:14: pipeline.stages[4].type: unknown value 'parallel' "
                          "(expected box or fan_out)"));
}

TEST(SpecPipeline, InputsMustComeFromAnEarlierStage) {
  EXPECT_THAT(messages("kind: pipeline\n"
                       "pipeline:\n"
                       "  boxes:\n"
                       "    - {name: a, prompt: p, inputs: [{from: b-out}]}\n"
                       "    - {name: b, prompt: p, outputs: [{name: b-out}], inputs: [{from: "
                       "b-out}]}\n"
                       "    - {name: c, prompt: p, outputs: [{name: b-out}]}\n"
                       "    - {name: d, prompt: p, inputs: [{from: b-out}]}\n"
                       "  stages:\n"
                       "    - {type: fan_out, boxes: [a, b]}\n"
                       "    - {type: box, name: c}\n"
                       "    - {type: box, name: d}\n"),
              ElementsAre("spec.yaml:4:38: pipeline.boxes[0].inputs[0].from: output 'b-out' is "
                          "written by box 'b', which does not run before box 'a'",
                          "spec.yaml:5:64: pipeline.boxes[1].inputs[0].from: box 'b' cannot read "
                          "its own output 'b-out'",
                          "spec.yaml:6:39: pipeline.boxes[2].outputs[0].name: duplicate output "
                          "name 'b-out' (also an output of box 'b')"));
  // Without stages boxes run in order, so an input from a later box fails.
  EXPECT_THAT(messages("kind: pipeline\npipeline:\n  boxes:\n"
                       "    - {name: a, prompt: p, inputs: [{from: o}]}\n"
                       "    - {name: b, prompt: p, outputs: [{name: o}]}\n"),
              ElementsAre("spec.yaml:4:38: pipeline.boxes[0].inputs[0].from: output 'o' is "
                          "written by box 'b', which does not run before box 'a'"));
}

TEST(SpecWorkflow, StepsNeedNameAndProgram) {
  EXPECT_THAT(messages("kind: workflow\nworkflow:\n  steps:\n"
                       "    - run: {program: echo}\n"
                       "    - name: b\n"
                       "    - name: c\n      run: {args: [x]}\n"),
              ElementsAre("spec.yaml:4:7: workflow.steps[0].name: missing required field",
                          "spec.yaml:5:7: workflow.steps[1].run: missing required field",
                          "spec.yaml:7:12: workflow.steps[2].run.program: missing required "
                          "field"));
  EXPECT_THAT(messages("kind: workflow\nworkflow:\n  steps: []\n"),
              ElementsAre("spec.yaml:3:3: workflow.steps: must not be empty (a workflow needs "
                          "at least one step)"));
}

TEST(SpecWorkflow, References) {
  EXPECT_THAT(messages("kind: workflow\n"
                       "workflow:\n"
                       "  output_step: reprot\n"
                       "  steps:\n"
                       "    - name: fetch\n"
                       "      run: {program: echo}\n"
                       "    - name: report\n"
                       "      depends_on: [fech]\n"
                       "      run: {program: cat, stdin_from: missing}\n"
                       "    - name: fetch\n"
                       "      mode: service\n"
                       "      timeout_secs: 5\n"
                       "      run: {program: sh}\n"),
              ElementsAre("spec.yaml:3:3: workflow.output_step: unknown step 'reprot' (did you "
                          "mean 'report'?)",
                          "spec.yaml:8:20: workflow.steps[1].depends_on[0]: unknown step 'fech' "
                          "(did you mean 'fetch'?)",
                          "spec.yaml:9:27: workflow.steps[1].run.stdin_from: unknown step "
                          "'missing'",
                          "spec.yaml:10:7: workflow.steps[2].name: duplicate step name 'fetch' "
                          "(first defined at 5:7)",
                          "spec.yaml:12:7: workflow.steps[2].timeout_secs: not allowed when the "
                          "step's mode is service"));
}

TEST(SpecWorkflow, CycleIsPrinted) {
  EXPECT_THAT(messages("kind: workflow\n"
                       "workflow:\n"
                       "  steps:\n"
                       "    - name: a\n"
                       "      depends_on: [c]\n"
                       "      run: {program: echo}\n"
                       "    - name: b\n"
                       "      depends_on: [a]\n"
                       "      run: {program: echo}\n"
                       "    - name: c\n"
                       "      run: {program: cat, stdin_from: b}\n"
                       "    - name: d\n"
                       "      depends_on: [d]\n"
                       "      run: {program: echo}\n"),
              ElementsAre("spec.yaml:4:7: workflow.steps[0]: dependency cycle: a -> c -> b -> a",
                          "spec.yaml:12:7: workflow.steps[3]: dependency cycle: d -> d"));
}

TEST(SpecWorkflow, LongCyclesAreAbbreviated) {
  std::string text = "kind: workflow\nworkflow:\n  steps:\n";
  for (int i = 0; i < 30; ++i) {
    text += "    - {name: s" + std::to_string(i) + ", depends_on: [s" +
            std::to_string((i + 1) % 30) + "], run: {program: echo}}\n";
  }
  EXPECT_THAT(messages(text),
              ElementsAre("spec.yaml:4:7: workflow.steps[0]: dependency cycle: s0 -> s1 -> s2 -> "
                          "s3 -> s4 -> s5 -> s6 -> s7 -> ... (14 more) -> s22 -> s23 -> s24 -> "
                          "s25 -> s26 -> s27 -> s28 -> s29 -> s0"));
}

TEST(SpecWorkflow, DiamondIsNotACycle) {
  RunSpec spec = parse_ok(
      "kind: workflow\nworkflow:\n  steps:\n"
      "    - {name: a, run: {program: echo}}\n"
      "    - {name: b, depends_on: [a], run: {program: cat, stdin_from: a}}\n"
      "    - {name: c, depends_on: [a], run: {program: cat}}\n"
      "    - {name: d, depends_on: [b, c], run: {program: cat}}\n"
      "  output_step: d\n");
  EXPECT_EQ(spec.workflow->steps.size(), 4u);
  EXPECT_EQ(spec.workflow->output_step, "d");
}

TEST(SpecDiagnostics, AllErrorsAreReportedInPositionOrder) {
  auto lines = messages(
      "kind: agent\n"
      "agent:\n"
      "  mode: service\n"
      "  prompt: p\n"
      "  timeout_secs: 10\n"
      "sandbox:\n"
      "  vcpus: many\n"
      "  mounts: [{host: a, guest: b}]\n"
      "observe:\n"
      "  tracs: true\n");
  EXPECT_THAT(lines,
              ElementsAre("spec.yaml:3:3: agent.output_file: required when agent.mode is service",
                          "spec.yaml:5:3: agent.timeout_secs: not allowed when agent.mode is "
                          "service",
                          "spec.yaml:7:10: sandbox.vcpus: expected an integer, got string "
                          "\"many\"",
                          "spec.yaml:8:29: sandbox.mounts[0].guest: guest path must be absolute, "
                          "got 'b'",
                          "spec.yaml:10:3: observe.tracs: unknown field 'tracs' (did you mean "
                          "'traces'?)"));
}

TEST(SpecDiagnostics, JsonRendering) {
  Diagnostics d{{"f.yaml", 3, 5, "agent.mode", "bad \"x\"", Severity::error},
                {"f.yaml", 0, 0, "", "w", Severity::warning}};
  EXPECT_EQ(diagnostics_to_json(d),
            R"([{"file":"f.yaml","line":3,"column":5,"field_path":"agent.mode",)"
            R"("severity":"error","message":"bad \"x\""},)"
            R"({"file":"f.yaml","line":0,"column":0,"field_path":"","severity":"warning",)"
            R"("message":"w"}])");
  EXPECT_EQ(format_diagnostic(d[1]), "f.yaml: warning: w");
}

TEST(SpecValidate, ProgrammaticSpecsGetTheModelRules) {
  RunSpec spec;
  spec.kind = Kind::workflow;
  spec.workflow.emplace();
  Step step;
  step.name = "a";
  step.depends_on = {"a"};
  spec.workflow->steps.push_back(step);
  std::vector<std::string> lines;
  for (const auto& d : validate_spec(spec)) lines.push_back(format_diagnostic(d));
  EXPECT_THAT(lines, ElementsAre("<spec>: workflow.steps[0].run.program: must not be empty",
                                 "<spec>: workflow.steps[0]: dependency cycle: a -> a"));
}

TEST(SpecFormat, ExtensionDecidesTheFormat) {
  EXPECT_EQ(format_for_path("a/b.yaml"), Format::yaml);
  EXPECT_EQ(format_for_path("B.YML"), Format::yaml);
  EXPECT_EQ(format_for_path("b.json"), Format::json);
  EXPECT_EQ(format_for_path("dir.yaml/spec"), Format::json);
}

TEST(SpecFormat, OversizedAndMissingFiles) {
  std::string huge(5 * 1024 * 1024, ' ');
  EXPECT_THAT(messages(huge), ElementsAre("spec.yaml: spec is too large (5242880 bytes, limit "
                                          "4194304)"));
  auto missing = load_spec_file("/nonexistent/spec.yaml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(format_diagnostic(missing.error().at(0)),
            "/nonexistent/spec.yaml: cannot read file: No such file or directory");
}

}  // namespace
}  // namespace voidbox::spec
