#include "agent/provisioning.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/output_parser.hpp"

namespace voidbox::agent {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxSkillFile = 1u << 20;
constexpr const char* kClaudeProjectDir = "/workspace/.claude";

// Skill names become path components in the guest.
bool safe_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

GuestStep file_step(std::string path, std::string content, std::string why,
                    bool sandbox_owned = true, std::uint32_t mode = 0644) {
  GuestStep step;
  step.kind = GuestStep::Kind::file;
  step.file = {std::move(path), std::move(content), mode, sandbox_owned, false};
  step.why = std::move(why);
  return step;
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::expected<std::vector<ResolvedSkill>, std::string> resolve_skills(
    const std::vector<spec::Skill>& skills, const std::filesystem::path& spec_dir,
    const RemoteSkillFetcher& fetch_remote) {
  std::vector<ResolvedSkill> out;
  std::set<std::string> names;
  for (const spec::Skill& skill : skills) {
    ResolvedSkill r;
    r.type = skill.type;
    switch (skill.type) {
      case spec::Skill::Type::agent:
        continue;  // names the agent; nothing to provision
      case spec::Skill::Type::file: {
        std::filesystem::path path = skill.value;
        if (path.is_relative()) path = spec_dir / path;
        std::ifstream in(path, std::ios::binary);
        if (!in) return std::unexpected("skill file " + path.string() + " cannot be read");
        std::string text(kMaxSkillFile + 1, '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        if (in.gcount() > static_cast<std::streamsize>(kMaxSkillFile)) {
          return std::unexpected("skill file " + path.string() + " is larger than 1 MiB");
        }
        text.resize(static_cast<std::size_t>(in.gcount()));
        r.content = std::move(text);
        r.name = path.stem().string();
        break;
      }
      case spec::Skill::Type::remote: {
        if (!fetch_remote) return std::unexpected("remote skill " + skill.value + ": no fetcher");
        auto text = fetch_remote(skill.value);
        if (!text) return std::unexpected("remote skill " + skill.value + ": " + text.error());
        r.content = std::move(*text);
        r.name = skill.value.substr(skill.value.rfind('/') + 1);
        break;
      }
      case spec::Skill::Type::cli:
      case spec::Skill::Type::mcp:
        r.argv = split_words(skill.value);
        if (r.argv.empty()) return std::unexpected("skill '" + skill.value + "' has no command");
        r.name = std::filesystem::path(r.argv[0]).filename().string();
        break;
      case spec::Skill::Type::oci:
        r.mount = skill.mount;
        r.name = std::filesystem::path(skill.mount).filename().string();
        break;
    }
    if (!safe_name(r.name)) return std::unexpected("skill '" + skill.value + "': unusable name");
    // Two skills of one name would overwrite each other's files or ports.
    std::string unique = r.name;
    for (int i = 2; names.contains(unique); ++i) unique = r.name + "-" + std::to_string(i);
    r.name = unique;
    names.insert(unique);
    out.push_back(std::move(r));
  }
  return out;
}

std::string assemble_prompt(const std::string& prompt, const std::optional<std::string>& input,
                            const std::string& output_file) {
  if (!input) return prompt + "\n\nWrite your output to " + output_file + ".";
  std::string inline_text = *input;
  if (inline_text.size() > kInlineInputBytes) {
    inline_text = detail::truncate_utf8(inline_text, kInlineInputBytes) +
                  "...\n(truncated; full data in " + kInputFile + ")";
  }
  return prompt + "\n\n--- Previous stage output ---\n" + inline_text +
         "\n--- End previous stage output ---\n\nThe above data is also available at " +
         kInputFile + ".\nWrite your output to " + output_file + ".";
}

std::expected<AgentPlan, std::string> plan_agent_run(const AgentRunInputs& in) {
  AgentPlan plan;
  plan.flavor = in.flavor;
  plan.output_file = in.output_file.value_or(kDefaultOutputFile);
  const bool claude = in.flavor == Flavor::claude;

  GuestStep policy;
  policy.kind = GuestStep::Kind::policy;
  policy.why = "security policy";
  plan.steps.push_back(policy);

  // Skills.
  json::object mcp_servers;
  std::string codex_toml;
  std::vector<std::string> extra_path;
  std::uint16_t next_port = kFirstMcpPort;
  for (const ResolvedSkill& skill : in.skills) {
    switch (skill.type) {
      case spec::Skill::Type::file:
      case spec::Skill::Type::remote:
        // Where claude-code discovers project skills: .claude/skills/<name>/SKILL.md.
        plan.steps.push_back(
            file_step(std::string(kClaudeProjectDir) + "/skills/" + skill.name + "/SKILL.md",
                      skill.content, "skill '" + skill.name + "'"));
        break;
      case spec::Skill::Type::cli: {
        GuestStep step;
        step.kind = GuestStep::Kind::command;
        step.command.argv = {"sh", "-c", "command -v \"$1\" >/dev/null", "sh", skill.argv[0]};
        step.command.failure_message =
            "cli skill '" + skill.argv[0] + "' is not installed in the guest image";
        step.why = "cli skill '" + skill.name + "'";
        plan.steps.push_back(std::move(step));
        break;
      }
      case spec::Skill::Type::mcp: {
        const std::uint16_t port = next_port++;
        GuestStep step;
        step.kind = GuestStep::Kind::command;
        step.command.argv = skill.argv;
        step.command.argv.insert(step.command.argv.end(),
                                 {"--sse", "--port", std::to_string(port)});
        step.command.background = true;
        step.command.ready_port = port;
        step.why = "mcp skill '" + skill.name + "'";
        plan.steps.push_back(std::move(step));
        const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
        mcp_servers[skill.name] = json::object{{"type", "http"}, {"url", url}};
        codex_toml +=
            "[mcp_servers." + toml_string(skill.name) + "]\nurl = " + toml_string(url) + "\n\n";
        break;
      }
      case spec::Skill::Type::oci:
        extra_path.push_back(skill.mount + "/usr/local/bin");
        extra_path.push_back(skill.mount + "/usr/bin");
        break;
      case spec::Skill::Type::agent:
        break;
    }
  }
  if (!mcp_servers.empty()) {
    if (claude) {
      plan.steps.push_back(file_step(kMcpConfigFile,
                                     json::serialize(json::object{{"mcpServers", mcp_servers}}),
                                     "mcp config"));
    } else {
      plan.steps.push_back(file_step(std::string(kSandboxHome) + "/.codex/config.toml", codex_toml,
                                     "codex mcp config"));
    }
  }

  // Provider bootstrap.
  if (claude) {
    plan.steps.push_back(file_step(std::string(kSandboxHome) + "/.claude.json",
                                   R"({"hasCompletedOnboarding":true})", "claude onboarding"));
    plan.steps.push_back(file_step(std::string(kClaudeProjectDir) + "/settings.json",
                                   R"({"skipWebFetchPreflight":true})", "claude settings"));
  }
  for (const GuestFile& file : in.launch.files) {
    GuestStep step;
    step.kind = GuestStep::Kind::file;
    step.file = file;
    step.why = "provider credentials";
    plan.steps.push_back(std::move(step));
  }

  if (in.input) plan.steps.push_back(file_step(kInputFile, *in.input, "previous stage output"));

  // The agent.
  plan.prompt = assemble_prompt(in.prompt, in.input, plan.output_file);
  GuestCommand& agent = plan.agent;
  agent.env = in.launch.env;
  if (claude) {
    // Needed for --dangerously-skip-permissions, and keeps claude-code from
    // calling anything but the API.
    agent.env["IS_SANDBOX"] = "1";
    agent.env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
    agent.argv = {in.claude_binary,
                  "-p",
                  plan.prompt,
                  "--output-format",
                  "stream-json",
                  "--verbose",
                  "--dangerously-skip-permissions"};
    agent.argv.insert(agent.argv.end(), in.launch.args.begin(), in.launch.args.end());
    agent.argv.insert(agent.argv.end(), {"--settings", R"({"skipWebFetchPreflight":true})"});
    if (!mcp_servers.empty()) agent.argv.insert(agent.argv.end(), {"--mcp-config", kMcpConfigFile});
  } else {
    agent.argv = {in.codex_binary, "exec", "--json", "--skip-git-repo-check",
                  "--dangerously-bypass-approvals-and-sandbox"};
    agent.argv.insert(agent.argv.end(), in.launch.args.begin(), in.launch.args.end());
    agent.argv.push_back(plan.prompt);
  }
  plan.path_prepend = std::move(extra_path);
  return plan;
}

}  // namespace voidbox::agent
