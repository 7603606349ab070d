// `voidbox run --file F`: runs a spec. `kind: workflow` runs its steps as a
// DAG in one shared sandbox; `kind: sandbox` boots, runs `echo ready` and
// waits for Ctrl-C.
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
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>

#include "cli/verb.hpp"
#include "runtime/sandbox.hpp"
#include "runtime/workflow_runner.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr const char* kUsage =
    "usage: voidbox [--output human|json] run --file SPEC [--backend auto|kvm|process]\n"
    "                                         [--input TEXT]\n\n"
    "Runs a spec. kind: workflow runs its steps as a DAG in one shared sandbox and\n"
    "prints the output step's stdout; kind: sandbox boots, runs `echo ready` and waits\n"
    "for Ctrl-C. Progress goes to stderr; with --output json, stdout carries one JSON\n"
    "event per line instead, the last one {\"event\":\"run_finished\",...,\"output\":...}.\n\n"
    "--backend process runs NO VM (local namespaced processes, NOT a security\n"
    "boundary); auto falls back to it, with a warning, when no VM can boot.\n";

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

std::map<std::string, std::string> resolve_env(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : env) {
    if (!v.empty()) {
      out[k] = v;
    } else if (const char* host = std::getenv(k.c_str())) {
      out[k] = host;  // "" means: copy from the host
    }
  }
  return out;
}

class Reporter {
 public:
  Reporter(VerbContext& ctx) : ctx_(ctx), json_(ctx.global.output == OutputFormat::json) {}

  void warning(const std::string& text) {
    std::lock_guard lock(mu_);
    ctx_.err << "voidbox: WARNING: " << text << "\n" << std::flush;
    if (json_) event({{"event", "warning"}, {"message", text}});
  }
  void sandbox_ready(const runtime::Sandbox& box) {
    std::lock_guard lock(mu_);
    const auto& c = box.choice();
    if (json_) {
      event({{"event", "sandbox_ready"},
             {"backend", c.backend},
             {"vm", c.vm},
             {"guest_kernel", box.guest().kernel_release}});
    } else {
      ctx_.err << "voidbox: sandbox ready on backend '" << c.backend << "'"
               << (c.vm ? "" : " (NO VM)") << "\n";
    }
  }
  void step_started(const std::string& name) {
    std::lock_guard lock(mu_);
    if (json_) {
      event({{"event", "step_started"}, {"step", name}});
    } else {
      ctx_.err << "voidbox: step '" << name << "' started\n" << std::flush;
    }
  }
  void step_finished(const runtime::StepResult& r) {
    std::lock_guard lock(mu_);
    if (json_) {
      event({{"event", "step_finished"},
             {"step", r.name},
             {"status", runtime::to_string(r.status)},
             {"exit_code", r.exit_code},
             {"duration_ms", r.duration_ms},
             {"error", r.error}});
      return;
    }
    ctx_.err << "voidbox: step '" << r.name << "' " << runtime::to_string(r.status);
    if (r.status != runtime::StepStatus::skipped) ctx_.err << " in " << r.duration_ms << " ms";
    if (!r.error.empty() && r.status != runtime::StepStatus::skipped) ctx_.err << ": " << r.error;
    ctx_.err << "\n";
    if (r.status == runtime::StepStatus::failed || r.status == runtime::StepStatus::timed_out) {
      // The failing step's stderr is what the user needs to see.
      if (!r.stderr_text.empty())
        ctx_.err << r.stderr_text << (r.stderr_text.ends_with('\n') ? "" : "\n");
    }
    ctx_.err << std::flush;
  }
  void finished(bool success, const std::string& output, const std::string& output_step) {
    std::lock_guard lock(mu_);
    if (json_) {
      event({{"event", "run_finished"},
             {"success", success},
             {"output_step", output_step},
             {"output", output}});
    } else {
      ctx_.out << output << std::flush;
    }
  }

 private:
  void event(json::object o) { ctx_.out << json::serialize(o) << "\n" << std::flush; }

  VerbContext& ctx_;
  bool json_;
  std::mutex mu_;
};

runtime::SandboxConfig sandbox_config(const spec::RunSpec& spec, const std::string& backend) {
  runtime::SandboxConfig c;
  c.name = spec.name.value_or("run");
  c.backend = backend;
  c.mode = spec.sandbox.mode;
  c.kernel = spec.sandbox.kernel;
  c.initramfs = spec.sandbox.initramfs;
  c.memory_mb = spec.sandbox.memory_mb;
  c.vcpus = spec.sandbox.vcpus;
  c.network = spec.sandbox.network.enabled;
  return c;
}

}  // namespace

int run_run(VerbContext& ctx) {
  std::string file;
  std::string backend;
  std::optional<std::string> input;
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("file,f", po::value<std::string>()->required(),
                                                    "spec file (.yaml/.yml or .json)")(
      "backend", po::value<std::string>()->default_value("auto"), "auto, kvm or process")(
      "input", po::value<std::string>(), "text given to the run (stdin of the first steps)");
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

  auto loaded = spec::load_spec_file(file);
  if (!loaded) {
    for (const auto& d : loaded.error()) ctx.err << spec::format_diagnostic(d) << "\n";
    return kExitFailure;
  }
  for (const auto& d : loaded->warnings) ctx.err << spec::format_diagnostic(d) << "\n";
  spec::RunSpec& spec = loaded->spec;
  spec::apply_env_overrides(spec);

  if (spec.kind == spec::Kind::agent || spec.kind == spec::Kind::pipeline) {
    ctx.err << "voidbox run: kind '" << (spec.kind == spec::Kind::agent ? "agent" : "pipeline")
            << "' is not supported yet: it needs the agent/LLM work. Supported kinds: workflow, "
               "sandbox\n";
    return kExitFailure;
  }
  Reporter report(ctx);
  if (!spec.sandbox.mounts.empty()) report.warning("sandbox.mounts are not supported yet; ignored");
  if (spec.sandbox.image)
    report.warning("sandbox.image (OCI rootfs) is not supported yet; ignored");

  plugin::Registry registry;
  registry.load_default();
  auto sandbox = runtime::Sandbox::create(sandbox_config(spec, backend), registry,
                                          [&](const std::string& w) { report.warning(w); });
  if (!sandbox) {
    ctx.err << "voidbox run: " << sandbox.error() << "\n";
    return kExitFailure;
  }
  report.sandbox_ready(**sandbox);
  auto env = resolve_env(spec.sandbox.env);

  if (spec.kind == spec::Kind::sandbox) {
    // Armed before "ready" is printed, so a Ctrl-C right after it counts.
    if (!arm_interrupt()) {
      ctx.err << "voidbox run: cannot set up the interrupt handler\n";
      return kExitFailure;
    }
    control::ExecRequest ready;
    ready.program = "echo";
    ready.args = {"ready"};
    ready.env = env;
    std::string out;
    auto r = (*sandbox)->channel().exec(
        ready, {[&](std::span<const std::uint8_t> b) {
                  out.append(reinterpret_cast<const char*>(b.data()), b.size());
                },
                {}});
    if (!r || r->exit_code != 0) {
      ctx.err << "voidbox run: `echo ready` failed in the sandbox: "
              << (r ? "exit " + std::to_string(r->exit_code) : r.error().message) << "\n";
      return kExitFailure;
    }
    report.finished(true, out, "");
    ctx.err << "voidbox: sandbox is running; press Ctrl-C to stop it\n" << std::flush;
    wait_for_interrupt();
    ctx.err << "voidbox: stopping the sandbox\n";
    return kExitOk;
  }

  if (!spec.workflow) {
    ctx.err << "voidbox run: kind workflow needs a workflow block\n";
    return kExitFailure;
  }
  runtime::WorkflowOptions wopts;
  wopts.input = input;
  wopts.on_step_start = [&](const std::string& name) { report.step_started(name); };
  wopts.on_step_end = [&](const runtime::StepResult& r) { report.step_finished(r); };
  auto& channel = (*sandbox)->channel();
  runtime::StepExecutor exec = [&](const control::ExecRequest& req, control::ExecOutput out,
                                   std::optional<std::string> stdin_data) {
    control::ExecRequest with_env = req;
    for (const auto& [k, v] : env) with_env.env.emplace(k, v);
    return channel.exec(with_env, std::move(out), std::move(stdin_data));
  };
  auto result = runtime::run_workflow(*spec.workflow, exec, wopts);
  if (!result) {
    ctx.err << "voidbox run: " << result.error() << "\n";
    return kExitFailure;
  }
  report.finished(result->success, result->output, result->output_step);
  return result->success ? kExitOk : kExitFailure;
}

}  // namespace voidbox::cli
