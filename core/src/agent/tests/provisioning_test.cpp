#include "agent/provisioning.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace voidbox::agent {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> step_labels(const AgentPlan& plan) {
  std::vector<std::string> out;
  for (const GuestStep& s : plan.steps) {
    switch (s.kind) {
      case GuestStep::Kind::policy:
        out.push_back("policy");
        break;
      case GuestStep::Kind::file:
        out.push_back("file " + s.file.path);
        break;
      case GuestStep::Kind::command:
        out.push_back("command " + s.command.argv[0]);
        break;
    }
  }
  return out;
}

AgentRunInputs claude_inputs() {
  AgentRunInputs in;
  in.prompt = "Fix the bug.";
  in.launch.env = {{"HOME", "/home/sandbox"}, {"ANTHROPIC_API_KEY", "voidbox-proxy-x"}};
  in.launch.args = {"--model", "m1"};
  return in;
}

TEST(ProvisioningTest, StepsFollowTheOriginalOrder) {
  AgentRunInputs in = claude_inputs();
  in.input = R"({"prev":true})";
  in.skills = {{spec::Skill::Type::file, "review", "# Review\n", {}, ""},
               {spec::Skill::Type::cli, "jq", "", {"jq"}, ""},
               {spec::Skill::Type::mcp, "void-mcp", "", {"void-mcp", "--flag"}, ""}};
  in.launch.files = {{"/home/sandbox/.claude/.credentials.json", "{}", 0600, true, true}};
  auto plan = plan_agent_run(in);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(step_labels(*plan), (std::vector<std::string>{
                                    "policy",
                                    "file /workspace/.claude/skills/review/SKILL.md",
                                    "command sh",
                                    "command void-mcp",
                                    "file /workspace/.mcp.json",
                                    "file /home/sandbox/.claude.json",
                                    "file /workspace/.claude/settings.json",
                                    "file /home/sandbox/.claude/.credentials.json",
                                    "file /workspace/input.json",
                                }));
  const GuestStep& cli = plan->steps[2];
  EXPECT_EQ(cli.command.argv.back(), "jq");
  EXPECT_NE(cli.command.failure_message.find("jq"), std::string::npos);
  const GuestStep& mcp = plan->steps[3];
  EXPECT_TRUE(mcp.command.background);
  EXPECT_EQ(mcp.command.ready_port, kFirstMcpPort);
  EXPECT_EQ(mcp.command.argv,
            (std::vector<std::string>{"void-mcp", "--flag", "--sse", "--port", "8222"}));
  EXPECT_EQ(plan->steps[4].file.content,
            R"({"mcpServers":{"void-mcp":{"type":"http","url":"http://127.0.0.1:8222/mcp"}}})");
  EXPECT_EQ(plan->steps[5].file.content, R"({"hasCompletedOnboarding":true})");
  EXPECT_TRUE(plan->steps[5].file.sandbox_owned);
  EXPECT_TRUE(plan->steps[7].file.secret);
}

TEST(ProvisioningTest, ClaudeCommandLineAndEnv) {
  auto plan = plan_agent_run(claude_inputs());
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->working_dir, "/workspace");
  EXPECT_EQ(plan->output_file, "/workspace/output.json");
  EXPECT_EQ(plan->agent.argv, (std::vector<std::string>{
                                  "claude", "-p", plan->prompt, "--output-format", "stream-json",
                                  "--verbose", "--dangerously-skip-permissions", "--model", "m1",
                                  "--settings", R"({"skipWebFetchPreflight":true})"}));
  EXPECT_EQ(plan->agent.env.at("IS_SANDBOX"), "1");
  EXPECT_EQ(plan->agent.env.at("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), "1");
  EXPECT_EQ(plan->agent.env.at("ANTHROPIC_API_KEY"), "voidbox-proxy-x");
  EXPECT_EQ(plan->prompt, "Fix the bug.\n\nWrite your output to /workspace/output.json.");
}

TEST(ProvisioningTest, CodexCommandLineAndMcpToml) {
  AgentRunInputs in;
  in.prompt = "Do it.";
  in.flavor = Flavor::codex;
  in.output_file = "/workspace/out.txt";
  in.skills = {{spec::Skill::Type::mcp, "srv", "", {"srv"}, ""}};
  auto plan = plan_agent_run(in);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->agent.argv,
            (std::vector<std::string>{"codex", "exec", "--json", "--skip-git-repo-check",
                                      "--dangerously-bypass-approvals-and-sandbox",
                                      "Do it.\n\nWrite your output to /workspace/out.txt."}));
  const auto labels = step_labels(*plan);
  EXPECT_EQ(std::count(labels.begin(), labels.end(), "file /home/sandbox/.claude.json"), 0);
  ASSERT_EQ(labels.back(), "file /home/sandbox/.codex/config.toml");
  EXPECT_EQ(plan->steps.back().file.content,
            "[mcp_servers.\"srv\"]\nurl = \"http://127.0.0.1:8222/mcp\"\n\n");
}

TEST(ProvisioningTest, PreviousOutputIsInlinedAndCutOnAUtf8Boundary) {
  const std::string short_prompt = assemble_prompt("P", std::string("data"), "/o");
  EXPECT_EQ(short_prompt,
            "P\n\n--- Previous stage output ---\ndata\n--- End previous stage output ---\n\n"
            "The above data is also available at /workspace/input.json.\nWrite your output to "
            "/o.");
  // 3999 ASCII bytes then a 2-byte character straddling the 4000-byte cut.
  const std::string big = std::string(3999, 'a') + "\xc3\xa9" + std::string(100, 'b');
  const std::string cut = assemble_prompt("P", big, "/o");
  EXPECT_NE(
      cut.find(std::string(3999, 'a') + "...\n(truncated; full data in /workspace/input.json)"),
      std::string::npos);
  EXPECT_EQ(cut.find("bb"), std::string::npos);
  EXPECT_EQ(cut.find("\xc3"), std::string::npos);
}

TEST(ProvisioningTest, ResolveSkillsReadsFilesAndFailsLoudlyOnRemoteErrors) {
  char tmpl[] = "/tmp/voidbox-skills-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  std::ofstream(dir / "code-review.md") << "# Code review\n";
  std::vector<spec::Skill> skills(3);
  skills[0].type = spec::Skill::Type::file;
  skills[0].value = "code-review.md";
  skills[1].type = spec::Skill::Type::agent;
  skills[1].value = "claude-code";
  skills[2].type = spec::Skill::Type::remote;
  skills[2].value = "owner/repo/tdd";
  auto ok = resolve_skills(skills, dir, [](const std::string& id) {
    return std::expected<std::string, std::string>("# " + id);
  });
  ASSERT_TRUE(ok) << ok.error();
  ASSERT_EQ(ok->size(), 2u);  // the agent skill provisions nothing
  EXPECT_EQ((*ok)[0].name, "code-review");
  EXPECT_EQ((*ok)[0].content, "# Code review\n");
  EXPECT_EQ((*ok)[1].name, "tdd");
  EXPECT_EQ((*ok)[1].content, "# owner/repo/tdd");

  auto failed = resolve_skills(skills, dir, [](const std::string&) {
    return std::expected<std::string, std::string>(std::unexpected("HTTP 404"));
  });
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("HTTP 404"), std::string::npos);

  skills.resize(1);
  skills[0].value = "missing.md";
  EXPECT_FALSE(resolve_skills(skills, dir, nullptr));
  fs::remove_all(dir);
}

TEST(ProvisioningTest, SkillNamesThatEscapeTheSkillsDirectoryAreRefused) {
  std::vector<spec::Skill> skills(1);
  skills[0].type = spec::Skill::Type::remote;
  skills[0].value = "owner/repo/..";
  EXPECT_FALSE(resolve_skills(skills, "/", [](const std::string&) {
    return std::expected<std::string, std::string>("x");
  }));
}

}  // namespace
}  // namespace voidbox::agent
