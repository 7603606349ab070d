// The guest side of one agent run, planned on the host in the original's
// order: security policy, skills, provider bootstrap (claude onboarding,
// settings, credential files), /workspace/input.json, then the assembled
// prompt and the agent command itself.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/guest_plan.hpp"
#include "agent/provider.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::agent {

inline constexpr const char* kWorkspace = "/workspace";
inline constexpr const char* kDefaultOutputFile = "/workspace/output.json";
inline constexpr const char* kInputFile = "/workspace/input.json";
inline constexpr const char* kMcpConfigFile = "/workspace/.mcp.json";
inline constexpr std::uint16_t kFirstMcpPort = 8222;
// Previous-stage output inlined into the prompt is cut here (the original's bound).
inline constexpr std::size_t kInlineInputBytes = 4000;

// A skill with its host-side content already fetched.
struct ResolvedSkill {
  spec::Skill::Type type = spec::Skill::Type::agent;
  std::string name;
  std::string content;            // file, remote: the SKILL.md text
  std::vector<std::string> argv;  // mcp: the server command; cli: the tool name
  std::string mount;              // oci: where the image's tree is mounted
};

// Fetches a remote skill ("owner/repo/skill") on the host; an error fails the run.
using RemoteSkillFetcher =
    std::function<std::expected<std::string, std::string>(const std::string& id)>;

// Reads file skills (relative paths against `spec_dir`, bounded size) and
// fetches remote ones; names come from the file stem or the last id segment.
std::expected<std::vector<ResolvedSkill>, std::string> resolve_skills(
    const std::vector<spec::Skill>& skills, const std::filesystem::path& spec_dir,
    const RemoteSkillFetcher& fetch_remote);

struct AgentRunInputs {
  std::string prompt;
  std::vector<ResolvedSkill> skills;
  std::optional<std::string> output_file;  // default /workspace/output.json
  std::optional<std::string> input;        // previous stage's output
  Flavor flavor = Flavor::claude;
  GuestLaunch launch;  // from guest_launch()
  // The agent executable in the guest (on the agent disk's PATH).
  std::string claude_binary = "claude";
  std::string codex_binary = "codex";
};

struct AgentPlan {
  std::vector<GuestStep> steps;  // run in order before the agent
  GuestCommand agent;            // the agent itself, run in working_dir, stdout parsed
  std::string working_dir = kWorkspace;
  std::string prompt;  // as assembled (also the last argv entry or -p value)
  std::string output_file;
  Flavor flavor = Flavor::claude;
  // Directories to put before the guest's PATH for the agent (OCI skills' bins).
  std::vector<std::string> path_prepend;
};

// The prompt the agent gets: the spec's prompt, the previous output inlined
// (cut at kInlineInputBytes on a UTF-8 boundary), and where to write output.
std::string assemble_prompt(const std::string& prompt, const std::optional<std::string>& input,
                            const std::string& output_file);

std::expected<AgentPlan, std::string> plan_agent_run(const AgentRunInputs& inputs);

}  // namespace voidbox::agent
