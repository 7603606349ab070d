#include "runtime/agent_box.hpp"

#include <chrono>
#include <memory>
#include <thread>

#include "agent/agent_disk.hpp"
#include "agent/credential_proxy.hpp"
#include "agent/output_parser.hpp"
#include "agent/provider.hpp"
#include "agent/provisioning.hpp"
#include "runtime/spec_mapping.hpp"

namespace voidbox::runtime {
namespace {

// The programs a provisioned agent VM may start over the control channel:
// the original's default list, plus nc for the MCP readiness probe. It gates
// the first program only, not what the agent itself spawns.
const std::vector<std::string> kAgentAllowlist = {
    "sh",   "bash",   "claude-code", "claude", "codex", "python3", "pip", "git",  "gh",    "curl",
    "wget", "jq",     "cat",         "ls",     "mkdir", "cp",      "mv",  "rm",   "chmod", "find",
    "grep", "sed",    "awk",         "tr",     "head",  "tail",    "wc",  "sort", "uniq",  "env",
    "echo", "printf", "date",        "touch",  "tar",   "gzip",    "ip",  "test", "nc"};

constexpr std::uint64_t kMaxOutputFileBytes = 16u << 20;
constexpr std::size_t kStderrTailBytes = 8u << 10;
constexpr auto kMcpReadyDeadline = std::chrono::seconds(60);

Error box_error(Error::Kind kind, const std::string& stage, const std::string& message) {
  return Error{kind, "stage '" + stage + "': " + message, std::nullopt};
}

AgentActivity::Type activity_type(agent::AgentEvent::Type type) {
  using T = agent::AgentEvent::Type;
  switch (type) {
    case T::init:
      return AgentActivity::Type::init;
    case T::text:
      return AgentActivity::Type::text;
    case T::tool_use:
      return AgentActivity::Type::tool_use;
    case T::tool_result:
      return AgentActivity::Type::tool_result;
    case T::result:
      return AgentActivity::Type::result;
    case T::error:
      return AgentActivity::Type::error;
  }
  return AgentActivity::Type::error;
}

AgentActivity activity(const std::string& stage, const agent::AgentEvent& e) {
  const bool use = e.type == agent::AgentEvent::Type::tool_use;
  return AgentActivity{.stage = stage,
                       .type = activity_type(e.type),
                       .text = e.text,
                       .tool = use ? e.tool.name : e.tool.id,
                       .tool_input = e.tool.input_json,
                       .model = e.model,
                       .session_id = e.session_id,
                       .is_error = e.is_error || e.tool.is_error};
}

// Polls until something accepts on 127.0.0.1:port in the guest.
bool wait_for_port(Sandbox& box, std::uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + kMcpReadyDeadline;
  ExecRequest probe;
  probe.program = "nc";
  probe.args = {"-z", "-w", "1", "127.0.0.1", std::to_string(port)};
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = box.exec(probe);
    if (r && r->exit_code == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

ExecRequest request_for(const agent::GuestCommand& command, const std::string& path) {
  ExecRequest req;
  req.program = command.argv.front();
  req.args.assign(command.argv.begin() + 1, command.argv.end());
  req.env = command.env;
  req.env["PATH"] = path;
  return req;
}

// Carries out the plan's steps in order; background commands stay running
// in `background` until the VM stops.
Result<void> provision(Sandbox& box, const agent::AgentPlan& plan, const std::string& stage,
                       const std::string& path,
                       std::vector<std::unique_ptr<ExecSession>>& background) {
  for (const agent::GuestStep& step : plan.steps) {
    const std::string what = "provisioning (" + step.why + ")";
    switch (step.kind) {
      case agent::GuestStep::Kind::policy: {
        std::vector<std::string> allow = kAgentAllowlist;
        for (const auto& s : plan.steps) {
          if (s.kind == agent::GuestStep::Kind::command && !s.command.argv.empty()) {
            allow.push_back(std::filesystem::path(s.command.argv.front()).filename().string());
          }
        }
        allow.push_back(std::filesystem::path(plan.agent.argv.front()).filename().string());
        if (auto r = box.set_allowlist(allow); !r) {
          return std::unexpected(box_error(r.error().kind, stage, what + ": " + r.error().message));
        }
        protocol::Limits limits;
        limits.nofile = 4096;  // the original's 1024 is tight for Bun's agent
        limits.nproc = 1024;
        limits.fsize_bytes = 1ull << 30;
        if (auto r = box.set_limits(limits); !r) {
          return std::unexpected(box_error(r.error().kind, stage, what + ": " + r.error().message));
        }
        break;
      }
      case agent::GuestStep::Kind::file: {
        const auto& f = step.file;
        auto r = box.write_file(
            f.path,
            std::span(reinterpret_cast<const std::uint8_t*>(f.content.data()), f.content.size()),
            f.mode);
        if (!r) {
          return std::unexpected(box_error(
              r.error().kind, stage, what + ": writing " + f.path + ": " + r.error().message));
        }
        break;
      }
      case agent::GuestStep::Kind::command: {
        ExecRequest req = request_for(step.command, path);
        if (step.command.background) {
          auto session = box.start_exec(req, {});
          if (!session) {
            return std::unexpected(
                box_error(session.error().kind, stage, what + ": " + session.error().message));
          }
          background.push_back(std::move(*session));
          if (step.command.ready_port != 0 && !wait_for_port(box, step.command.ready_port)) {
            return std::unexpected(box_error(
                Error::Kind::failed, stage,
                what + ": nothing listened on port " + std::to_string(step.command.ready_port) +
                    " within " + std::to_string(kMcpReadyDeadline.count()) + " s"));
          }
          break;
        }
        auto r = box.exec(req);
        if (!r)
          return std::unexpected(box_error(r.error().kind, stage, what + ": " + r.error().message));
        if (r->exit_code != 0) {
          const std::string why = step.command.failure_message.empty()
                                      ? "exited with status " + std::to_string(r->exit_code)
                                      : step.command.failure_message;
          return std::unexpected(box_error(Error::Kind::failed, stage, what + ": " + why));
        }
        break;
      }
    }
  }
  return {};
}

void fill(AgentOutcome& out, const agent::AgentResult& r) {
  out.result_text = r.result_text;
  out.model = r.model;
  out.session_id = r.session_id;
  out.subtype = r.subtype;
  out.cost_usd = r.total_cost_usd;
  out.duration_ms = r.duration_ms;
  out.duration_api_ms = r.duration_api_ms;
  out.turns = r.num_turns;
  out.input_tokens = r.input_tokens;
  out.output_tokens = r.output_tokens;
  for (const auto& call : r.tool_calls) out.tool_calls.push_back(call.name);
}

}  // namespace

Result<AgentOutcome> run_agent_box(RunContext& run, const AgentBoxRequest& request) {
  const std::string& stage = request.stage;
  auto provider = agent::resolve_provider(request.llm, agent::HostView::current());
  if (!provider)
    return std::unexpected(box_error(Error::Kind::invalid_spec, stage, "llm: " + provider.error()));
  auto skills = agent::resolve_skills(
      request.skills, request.spec_dir,
      [](const std::string&) -> std::expected<std::string, std::string> {
        return std::unexpected(std::string("fetching remote skills is not built yet"));
      });
  if (!skills) return std::unexpected(box_error(Error::Kind::invalid_spec, stage, skills.error()));
  auto disk = agent::find_agent_disk(provider->flavor, process_env);
  if (!disk) return std::unexpected(box_error(Error::Kind::sandbox, stage, disk.error()));

  const bool use_proxy = request.llm.credential_proxy.value_or(
      provider->proxyable && request.mode != spec::AgentMode::service);
  std::unique_ptr<agent::CredentialProxy> proxy;
  std::optional<agent::ProxyEndpoint> endpoint;
  if (use_proxy) {
    auto upstream = agent::proxy_upstream(*provider);
    if (!upstream)
      return std::unexpected(box_error(Error::Kind::invalid_spec, stage, upstream.error()));
    auto token = agent::make_placeholder_token();
    if (!token) return std::unexpected(box_error(Error::Kind::sandbox, stage, token.error()));
    agent::CredentialProxy::Options options;
    options.upstream = std::move(*upstream);
    options.placeholder = std::move(*token);
    auto started = agent::CredentialProxy::start(std::move(options));
    if (!started) {
      return std::unexpected(box_error(Error::Kind::sandbox, stage,
                                       "the credential proxy did not start: " + started.error()));
    }
    proxy = std::move(*started);
    endpoint = proxy->guest_endpoint();
  }
  auto launch = agent::guest_launch(*provider, endpoint ? &*endpoint : nullptr);
  if (!launch) return std::unexpected(box_error(Error::Kind::invalid_spec, stage, launch.error()));

  const std::string agent_bin = std::string(agent::kAgentDiskMount) + "/bin/";
  agent::AgentRunInputs inputs;
  inputs.prompt = request.prompt;
  inputs.skills = std::move(*skills);
  inputs.output_file = request.output_file;
  inputs.input = request.input;
  inputs.flavor = provider->flavor;
  inputs.launch = std::move(*launch);
  inputs.claude_binary = agent_bin + "claude";
  inputs.codex_binary = agent_bin + "codex";
  auto plan = agent::plan_agent_run(inputs);
  if (!plan) return std::unexpected(box_error(Error::Kind::invalid_spec, stage, plan.error()));

  std::string path = agent_bin.substr(0, agent_bin.size() - 1);
  for (const auto& dir : plan->path_prepend) path += ":" + dir;
  path += ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

  SandboxConfig config = request.sandbox;
  config.network.enabled = true;  // the agent reaches its API through the gateway
  config.disks.push_back({*disk, agent::kAgentDiskMount, true});
  for (const spec::Skill& skill : request.skills) {
    if (skill.type != spec::Skill::Type::oci) continue;
    config.disks.push_back(DiskAttachment::from_oci_image(skill.value, skill.mount));
    if (!skill.readonly) {
      run.events.on_warning("stage '" + stage + "': OCI skill " + skill.value +
                            " is mounted read-only (its disk is shared by every VM on the image)");
    }
  }
  auto box = open_stage(run, stage, config);
  if (!box) return std::unexpected(box.error());

  std::vector<std::unique_ptr<ExecSession>> background;
  if (auto ok = provision(**box, *plan, stage, path, background); !ok) {
    background.clear();
    (*box)->stop();
    run.events.on_stage_finished({stage, false});
    return std::unexpected(ok.error());
  }

  ExecRequest exec = request_for(plan->agent, path);
  // The agents' shell tools want bash (claude-code refuses busybox sh); the
  // agent disk brings one.
  exec.env["SHELL"] = agent_bin + "bash";
  exec.cwd = plan->working_dir;
  if (request.mode != spec::AgentMode::service && request.timeout_secs) {
    exec.timeout = std::chrono::seconds(*request.timeout_secs);
  }
  agent::OutputParser parser(plan->flavor);
  std::string stderr_tail;
  auto emit = [&](const std::vector<agent::AgentEvent>& events) {
    for (const auto& e : events) run.events.on_agent_activity(activity(stage, e));
  };
  auto done = (*box)->exec(
      exec, {[&](std::span<const std::uint8_t> bytes) {
               emit(parser.feed({reinterpret_cast<const char*>(bytes.data()), bytes.size()}));
             },
             [&](std::span<const std::uint8_t> bytes) {
               stderr_tail.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
               if (stderr_tail.size() > kStderrTailBytes) {
                 stderr_tail.erase(0, stderr_tail.size() - kStderrTailBytes);
               }
             }});
  emit(parser.finish());

  AgentOutcome out;
  out.stage = stage;
  const std::string agent_name = agent::to_string(plan->flavor);
  auto result = parser.result();
  if (result) fill(out, *result);
  if (!done) {
    out.error = agent_name + " could not be run: " + done.error().message;
  } else if (done->timed_out) {
    out.error = agent_name + " did not finish within timeout_secs (" +
                std::to_string(*request.timeout_secs) + " s) and was killed";
  } else if (!result) {
    out.error = agent_name + " exited with status " + std::to_string(done->exit_code) + ": " +
                result.error() + (stderr_tail.empty() ? "" : "; its stderr ends:\n" + stderr_tail);
  } else if (result->is_error) {
    out.error = agent_name + " reported an error (" + result->subtype +
                "): " + result->error.value_or(result->result_text);
  } else if (done->exit_code != 0) {
    out.error = agent_name + " exited with status " + std::to_string(done->exit_code);
  }
  if (done) {
    if (auto file = (*box)->read_file(plan->output_file, kMaxOutputFileBytes)) {
      out.output = std::move(*file);
      out.output_written = true;
    }
  }
  out.success = out.error.empty();
  background.clear();
  (*box)->stop();
  run.events.on_stage_finished({stage, out.success});
  return out;
}

}  // namespace voidbox::runtime
