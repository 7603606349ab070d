// `voidbox run --file F`: loads a spec, hands it to the Runtime and renders
// its events. `kind: sandbox` is held until Ctrl-C.
// g++ 12 reports a false -Wnull-dereference inside Boost.Program_options'
// typed_value<std::string>::notify once inlined here.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

#include "cli/daemon_address.hpp"
#include "cli/network_flags.hpp"
#include "cli/verb.hpp"
#include "cli/verb_run_daemon.hpp"
#include "voidbox/runtime.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr const char* kUsage =
    "usage: voidbox [--output human|json] run --file SPEC [--backend auto|kvm|process]\n"
    "                                         [--input TEXT] [--network]\n"
    "                                         [--publish [ADDR:]HOST:GUEST[/udp]]...\n"
    "       voidbox run --daemon --file SPEC [--run-id ID] [--daemon-socket PATH | --daemon-url "
    "URL]\n\n"
    "Runs a spec.\n"
    "  kind: workflow  runs its steps as a DAG in one shared sandbox and prints the\n"
    "                  output step's stdout.\n"
    "  kind: sandbox   boots, runs `echo ready` and waits for Ctrl-C.\n"
    "  kind: agent     runs the coding agent (claude-code or codex, from llm.provider) in a\n"
    "                  VM with its agent disk (`voidbox image build claude`), streams what it\n"
    "                  does and prints its output_file (else its result text). The API key\n"
    "                  stays on the host: the guest talks to a per-run credential proxy.\n"
    "  kind: pipeline  one fresh agent VM per box; fan_out boxes run at once (as many as\n"
    "                  the host's memory holds); named box outputs go under --run-dir.\n"
    "Progress goes to stderr; with --output json, stdout carries one JSON event per line\n"
    "instead, the last one {\"event\":\"run_finished\",...,\"output\":...}.\n\n"
    "--backend process runs NO VM (local namespaced processes, NOT a security\n"
    "boundary); auto falls back to it, with a warning, when no VM can boot.\n\n"
    "--network and --publish add to the spec's sandbox.network; the ports actually\n"
    "bound are printed once the sandbox is ready (JSON: sandbox_ready.published_ports).\n\n"
    "--daemon submits the spec to `voidbox serve` instead (the daemon reads SPEC, so give a\n"
    "path it can read), follows its events and exits with the run's status: 0 when it\n"
    "succeeded, the failing step's exit code (else 1) when it failed, 130 when cancelled.\n";

int g_interrupt_pipe[2] = {-1, -1};
extern "C" void on_interrupt(int) {
  int saved = errno;
  char b = 1;
  (void)!::write(g_interrupt_pipe[1], &b, 1);
  errno = saved;
}

// Catches SIGINT/SIGTERM from the moment it is armed; wait() returns once
// one arrived (immediately if it already did).
bool arm_interrupt() {
  if (::pipe2(g_interrupt_pipe, O_CLOEXEC) != 0) return false;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return true;
}

void wait_for_interrupt() {
  pollfd p{g_interrupt_pipe[0], POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

// A line of agent text for a terminal: newlines folded, cut at 200 bytes.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 200) return out + "...";
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

json::object agent_json(const AgentOutcome& a) {
  json::array tools;
  for (const auto& t : a.tool_calls) tools.emplace_back(t);
  return {{"stage", a.stage},
          {"success", a.success},
          {"error", a.error},
          {"result", a.result_text},
          {"model", a.model},
          {"session_id", a.session_id},
          {"subtype", a.subtype},
          {"total_cost_usd", a.cost_usd},
          {"duration_ms", a.duration_ms},
          {"duration_api_ms", a.duration_api_ms},
          {"num_turns", a.turns},
          {"input_tokens", a.input_tokens},
          {"output_tokens", a.output_tokens},
          {"tool_calls", std::move(tools)},
          {"output_written", a.output_written}};
}

// Renders the run's events: progress on stderr, the output on stdout; with
// --output json, one JSON event per line on stdout instead.
class Reporter final : public RunObserver {
 public:
  Reporter(VerbContext& ctx, std::function<void()> on_ready)
      : ctx_(ctx), json_(ctx.global.output == OutputFormat::json), on_ready_(std::move(on_ready)) {}

  void on_warning(const std::string& text) override {
    ctx_.err << "voidbox: WARNING: " << text << "\n" << std::flush;
    if (json_) event({{"event", "warning"}, {"message", text}});
  }
  void on_sandbox_ready(const SandboxInfo& box) override {
    if (json_) {
      event({{"event", "sandbox_ready"},
             {"backend", box.backend},
             {"vm", box.vm},
             {"guest_kernel", box.guest_kernel},
             {"published_ports", published_ports_json(box.published_ports)}});
    } else {
      ctx_.err << "voidbox: sandbox ready on backend '" << box.backend << "'"
               << (box.vm ? "" : " (NO VM)") << "\n";
      print_published_ports(ctx_.err, box.published_ports);
    }
    if (on_ready_) on_ready_();
  }
  void on_stage_started(const std::string& name) override {
    if (json_) event({{"event", "stage_started"}, {"stage", name}});
  }
  void on_stage_finished(const StageResult& r) override {
    if (json_) event({{"event", "stage_finished"}, {"stage", r.name}, {"success", r.success}});
  }
  void on_step_started(const std::string& name) override {
    if (json_) {
      event({{"event", "step_started"}, {"step", name}});
    } else {
      ctx_.err << "voidbox: step '" << name << "' started\n" << std::flush;
    }
  }
  void on_step_finished(const StepResult& r) override {
    if (json_) {
      event({{"event", "step_finished"},
             {"step", r.name},
             {"status", to_string(r.status)},
             {"exit_code", r.exit_code},
             {"duration_ms", r.duration_ms},
             {"error", r.error}});
      return;
    }
    ctx_.err << "voidbox: step '" << r.name << "' " << to_string(r.status);
    if (r.status != StepStatus::skipped) ctx_.err << " in " << r.duration_ms << " ms";
    if (!r.error.empty() && r.status != StepStatus::skipped) ctx_.err << ": " << r.error;
    ctx_.err << "\n";
    if (r.status == StepStatus::failed || r.status == StepStatus::timed_out) {
      // The failing step's stderr is what the user needs to see.
      if (!r.stderr_text.empty())
        ctx_.err << r.stderr_text << (r.stderr_text.ends_with('\n') ? "" : "\n");
    }
    ctx_.err << std::flush;
  }
  void on_agent_activity(const AgentActivity& a) override {
    if (json_) {
      json::object o{{"event", "agent_activity"}, {"stage", a.stage}, {"type", to_string(a.type)}};
      if (!a.text.empty()) o["text"] = a.text;
      if (!a.tool.empty()) o["tool"] = a.tool;
      if (!a.tool_input.empty()) o["tool_input"] = a.tool_input;
      if (!a.model.empty()) o["model"] = a.model;
      if (!a.session_id.empty()) o["session_id"] = a.session_id;
      if (a.type == AgentActivity::Type::tool_result || a.type == AgentActivity::Type::result) {
        o["is_error"] = a.is_error;
      }
      event(std::move(o));
      return;
    }
    switch (a.type) {
      case AgentActivity::Type::init:
        ctx_.err << "[" << a.stage << "] agent started (model " << a.model << ")\n";
        break;
      case AgentActivity::Type::text:
        ctx_.err << "[" << a.stage << "] " << one_line(a.text) << "\n";
        break;
      case AgentActivity::Type::tool_use:
        ctx_.err << "[" << a.stage << "] tool " << a.tool << " " << one_line(a.tool_input) << "\n";
        break;
      case AgentActivity::Type::error:
        ctx_.err << "[" << a.stage << "] error: " << one_line(a.text) << "\n";
        break;
      case AgentActivity::Type::tool_result:
      case AgentActivity::Type::result:
        return;  // the tool's output is the agent's business; the result comes last
    }
    ctx_.err << std::flush;
  }
  void on_run_finished(const RunResult& r) override {
    if (json_) {
      json::array agents;
      for (const auto& a : r.agents) agents.push_back(agent_json(a));
      json::object o{{"event", "run_finished"},
                     {"success", r.success},
                     {"output_step", r.output_step},
                     {"output", r.output}};
      if (!r.agents.empty()) o["agents"] = std::move(agents);
      if (!r.outputs_dir.empty()) o["outputs_dir"] = r.outputs_dir;
      event(std::move(o));
      return;
    }
    double cost = 0;
    std::uint64_t in = 0, out = 0, tools = 0;
    for (const auto& a : r.agents) {
      cost += a.cost_usd;
      in += a.input_tokens;
      out += a.output_tokens;
      tools += a.tool_calls.size();
    }
    if (r.kind == spec::Kind::pipeline) {
      ctx_.err << "voidbox: pipeline " << (r.success ? "succeeded" : "failed") << ": "
               << r.agents.size() << " boxes, " << tools << " tool calls, " << in << " input / "
               << out << " output tokens, $" << cost << "\n";
      if (!r.outputs_dir.empty()) ctx_.err << "voidbox: box outputs in " << r.outputs_dir << "\n";
    }
    for (const auto& a : r.agents) {
      ctx_.err << "voidbox: agent '" << a.stage << "' " << (a.success ? "succeeded" : "failed")
               << ": " << a.turns << " turns, " << a.tool_calls.size() << " tool calls, "
               << a.input_tokens << " input / " << a.output_tokens << " output tokens, $"
               << a.cost_usd << ", " << a.duration_ms << " ms"
               << (a.error.empty() ? "" : "\nvoidbox: " + a.error) << "\n";
    }
    ctx_.out << r.output << (r.agents.empty() || r.output.ends_with('\n') ? "" : "\n")
             << std::flush;
  }

 private:
  void event(json::object o) { ctx_.out << json::serialize(o) << "\n" << std::flush; }

  VerbContext& ctx_;
  bool json_;
  std::function<void()> on_ready_;
};

}  // namespace

int run_run(VerbContext& ctx) {
  std::string file;
  std::string backend;
  std::optional<std::string> input;
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("file,f", po::value<std::string>()->required(),
                                                    "spec file (.yaml/.yml or .json)")(
      "backend", po::value<std::string>()->default_value("auto"), "auto, kvm or process")(
      "input", po::value<std::string>(), "text given to the run (stdin of the first steps)")(
      "run-id", po::value<std::string>(), "with --daemon: the run's id (default run-<ms>)")(
      "run-dir", po::value<std::string>(),
      "pipeline: where box outputs go (default $VOIDBOX_RUN_DIR/NAME, else "
      "~/.local/share/voidbox/runs/NAME-TIME-PID)");
  options.add_options()("daemon", po::value<std::string>()->implicit_value(""),
                        "run on the daemon (optionally at this URL)");
  po::options_description daemon_options("Daemon");
  daemon_options.add_options()("daemon-socket", po::value<std::string>(),
                               "the daemon's Unix socket")("daemon-url", po::value<std::string>(),
                                                           "unix:///PATH or tcp://HOST:PORT")(
      "token-file", po::value<std::string>(), "bearer token for a TCP daemon");
  options.add(daemon_options);
  add_network_options(options);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(ctx.args).options(options).run(), vm);
    if (vm.count("help")) {
      ctx.out << kUsage << "\n" << options;
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    ctx.err << "voidbox run: " << e.what() << "\n" << kUsage;
    return kExitUsage;
  }
  // Read back rather than bound: g++ 12 warns on bound std::string values.
  file = vm["file"].as<std::string>();
  backend = vm["backend"].as<std::string>();
  if (vm.count("input")) input = vm["input"].as<std::string>();
  if (vm.count("daemon")) return run_on_daemon(ctx, vm, file, input);

  auto loaded = spec::load_spec_file(file);
  if (!loaded) {
    for (const auto& d : loaded.error()) ctx.err << spec::format_diagnostic(d) << "\n";
    return kExitFailure;
  }
  for (const auto& d : loaded->warnings) ctx.err << spec::format_diagnostic(d) << "\n";
  spec::RunSpec& spec = loaded->spec;
  spec::apply_env_overrides(spec);
  if (!apply_network_options(vm, spec.sandbox.network, ctx.err)) return kExitUsage;

  // kind: sandbox waits for Ctrl-C; the handler is armed once the sandbox
  // is ready, before "ready" is printed, so a Ctrl-C right after it counts.
  const bool holds = spec.kind == spec::Kind::sandbox;
  bool armed = false;
  Reporter report(ctx, [&] {
    if (holds) armed = arm_interrupt();
  });
  RunOptions run_options;
  run_options.input = input;
  if (vm.count("run-dir")) run_options.run_dir = vm["run-dir"].as<std::string>();
  bool hold_failed = false;
  run_options.hold = [&](Sandbox&) {
    if (!armed) {
      ctx.err << "voidbox run: cannot set up the interrupt handler\n";
      hold_failed = true;
      return;
    }
    ctx.err << "voidbox: sandbox is running; press Ctrl-C to stop it\n" << std::flush;
    wait_for_interrupt();
    ctx.err << "voidbox: stopping the sandbox\n";
  };
  RuntimeOptions runtime_options;
  runtime_options.backend = backend;
  Runtime runtime(std::move(runtime_options));
  auto result = runtime.run(spec, report, run_options);
  if (!result) {
    ctx.err << "voidbox run: " << result.error().message << "\n";
    return kExitFailure;
  }
  if (hold_failed) return kExitFailure;
  return result->success ? kExitOk : kExitFailure;
}

}  // namespace voidbox::cli
