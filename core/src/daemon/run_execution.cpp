// One run on a worker thread: the spec goes through the public Runtime with
// a RunRecorder as observer, then the outputs and artifacts are published
// (files first, then the manifest) and the terminal state is recorded.
#include <boost/json.hpp>
#include <mutex>

#include "daemon/atomic_file.hpp"
#include "daemon/cancellable_sandbox.hpp"
#include "daemon/run_manager.hpp"
#include "daemon/run_recorder.hpp"
#include "voidbox/runtime.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::daemon {
namespace json = boost::json;

namespace {

std::vector<PlannedStage> plan_of(const spec::RunSpec& spec) {
  std::vector<PlannedStage> out;
  if (spec.kind == spec::Kind::workflow && spec.workflow) {
    for (const auto& step : spec.workflow->steps) out.push_back({step.name, step.depends_on});
  } else {
    out.push_back({spec.name.value_or("run"), {}});
  }
  return out;
}

struct StageFiles {
  std::string stage;
  std::string output;                                          // the stage's output file
  std::vector<std::pair<std::string, std::string>> artifacts;  // name, bytes
};

std::vector<StageFiles> files_of(const RunResult& result, const std::string& box) {
  std::vector<StageFiles> out;
  if (result.kind == spec::Kind::workflow) {
    for (const auto& s : result.steps) {
      StageFiles f{s.name, s.stdout_text, {}};
      f.artifacts.emplace_back("stderr", s.stderr_text);
      f.artifacts.emplace_back(
          "result.json", json::serialize(json::object{{"stage_name", s.name},
                                                      {"status", to_string(s.status)},
                                                      {"exit_code", s.exit_code},
                                                      {"duration_ms", s.duration_ms},
                                                      {"output_truncated", s.output_truncated},
                                                      {"error", s.error}}));
      out.push_back(std::move(f));
    }
  } else {
    out.push_back({box, result.output, {}});
  }
  return out;
}

json::object report_of(const RunResult& result, const std::string& name) {
  json::array stages;
  for (const auto& s : result.steps) {
    stages.push_back(json::object{{"name", s.name},
                                  {"status", to_string(s.status)},
                                  {"exit_code", s.exit_code},
                                  {"duration_ms", s.duration_ms}});
  }
  double cost = 0;
  std::uint64_t input_tokens = 0, output_tokens = 0;
  for (const auto& a : result.agents) {
    json::array tools;
    for (const auto& t : a.tool_calls) tools.emplace_back(t);
    stages.push_back(json::object{{"name", a.stage},
                                  {"status", a.success ? "succeeded" : "failed"},
                                  {"error", a.error},
                                  {"result", a.result_text},
                                  {"model", a.model},
                                  {"session_id", a.session_id},
                                  {"num_turns", a.turns},
                                  {"tool_calls", std::move(tools)},
                                  {"total_cost_usd", a.cost_usd},
                                  {"input_tokens", a.input_tokens},
                                  {"output_tokens", a.output_tokens},
                                  {"duration_ms", a.duration_ms}});
    cost += a.cost_usd;
    input_tokens += a.input_tokens;
    output_tokens += a.output_tokens;
  }
  return json::object{{"name", name},
                      {"kind", std::string(spec::to_string(result.kind))},
                      {"success", result.success},
                      {"output", result.output},
                      {"output_step", result.output_step},
                      {"stages", stages},
                      {"total_cost_usd", cost},
                      {"input_tokens", input_tokens},
                      {"output_tokens", output_tokens}};
}

std::int64_t exit_code_of(const RunResult& result) {
  if (result.success) return 0;
  for (const auto& s : result.steps) {
    if ((s.status == StepStatus::failed || s.status == StepStatus::timed_out) && s.exit_code > 0) {
      return s.exit_code;
    }
  }
  return 1;
}

}  // namespace

void RunManager::execute(const std::string& run_id, const std::shared_ptr<CancelToken>& token,
                         const RunPolicy& policy) {
  auto loaded = store_->get_run(run_id);
  if (!loaded || !*loaded) return;
  RunRecord run = **loaded;
  run.status = "starting";
  run.started_at = run.updated_at = now_ms();
  (void)store_->update_run(run);

  auto parsed = spec::parse_spec(
      run.spec_text, run.spec_format == "json" ? spec::Format::json : spec::Format::yaml, run.file);
  const std::string box = parsed ? parsed->spec.name.value_or("run") : "run";
  RunRecorder recorder(*store_, run_id, box, [this, run_id] { notify(run_id); });
  auto finish = [&](const std::string& status, const std::string& event_type,
                    const std::string& reason, const std::string& message) {
    EventRecord e;
    e.event_type = event_type;
    e.level = status == "succeeded" ? "info" : "error";
    e.message = message;
    e.payload_json = json::serialize(json::object{{"status", status}, {"terminal_reason", reason}});
    const auto seq = recorder.emit(std::move(e));
    run.status = status;
    run.terminal_reason = reason;
    run.finished_at = run.updated_at = now_ms();
    run.terminal_event_id = seq > 0 ? "evt-" + std::to_string(seq) : "";
    run.backend = recorder.backend();
    (void)store_->update_run(run);
  };
  if (!parsed) {
    run.error = "the stored spec no longer parses";
    finish("failed", "spec.parse_failed", "invalid_spec", run.error);
    return;
  }
  spec::RunSpec spec = std::move(parsed->spec);
  spec::apply_env_overrides(spec);
  recorder.plan(plan_of(spec));
  EventRecord loaded_event;
  loaded_event.event_type = "run.spec.loaded";
  loaded_event.message = "spec " + run.file + " loaded: " + spec::spec_summary(spec);
  recorder.emit(std::move(loaded_event));

  run.status = "running";
  run.updated_at = now_ms();
  (void)store_->update_run(run);

  RuntimeOptions options;
  options.backend = options_.backend;
  options.kernel = options_.kernel;
  options.initramfs = options_.initramfs;
  options.plugins = options_.plugins;
  const std::chrono::milliseconds cap(policy.stage_timeout_secs * 1000);
  options.sandbox_factory = [plugins = options_.plugins, token, cap](
                                const SandboxConfig& config,
                                const WarningSink& warn) -> Result<std::unique_ptr<Sandbox>> {
    if (token->cancelled()) {
      return std::unexpected(Error{Error::Kind::closed, "the run was cancelled", std::nullopt});
    }
    // One sandbox comes up at a time: the process backend's spawn (fork
    // plus an error pipe) hangs when another thread forks meanwhile, as the
    // sibling child inherits the pipe. Runs still execute concurrently.
    static std::mutex creating;
    std::unique_lock one_at_a_time(creating);
    auto box_result = Sandbox::create(config, *plugins, warn);
    one_at_a_time.unlock();
    if (!box_result) return std::unexpected(box_result.error());
    return std::unique_ptr<Sandbox>(
        std::make_unique<CancellableSandbox>(std::move(*box_result), token, cap));
  };
  RunOptions run_options;
  run_options.input = run.input;
  // kind: sandbox is held, as by `voidbox run`, until the run is cancelled.
  run_options.hold = [token](Sandbox&) { token->wait_cancelled(); };
  Runtime runtime(std::move(options));
  auto result = runtime.run(spec, recorder, run_options);

  std::string cancel_reason;
  {
    std::lock_guard lock(mu_);
    if (auto it = cancel_reasons_.find(run_id); it != cancel_reasons_.end())
      cancel_reason = it->second;
  }
  if (result) {
    run.report_json = json::serialize(report_of(*result, box));
    run.exit_code = exit_code_of(*result);
    run.artifact_status = "publishing";
    (void)store_->update_run(run);
    bool published = true;
    const auto files = files_of(*result, box);
    for (std::size_t i = 0; i < files.size() && published; ++i) {
      const auto dir = std::filesystem::path(run_id) / std::to_string(i);
      auto publish = [&](const std::string& name, const std::string& bytes,
                         const std::string& media_type) {
        const auto rel = dir / name;
        if (auto w = write_file_atomically(artifact_root_ / rel, bytes); !w) {
          run.error = w.error();
          return false;
        }
        ArtifactRecord a{files[i].stage,   name,        media_type, bytes.size(),
                         fnv1a_hex(bytes), rel.string()};
        if (auto r = store_->add_artifact(run_id, a); !r) {
          run.error = r.error();
          return false;
        }
        return true;
      };
      published = publish("output", files[i].output, "application/octet-stream");
      for (const auto& [name, bytes] : files[i].artifacts) {
        if (published) {
          published =
              publish(name, bytes, name.ends_with(".json") ? "application/json" : "text/plain");
        }
      }
    }
    run.artifact_status = published ? "published" : "failed";
    run.published_at = published ? now_ms() : 0;
    run.output_ready = published;
    if (published) {
      EventRecord ready;
      ready.event_type = "run.output_ready";
      ready.message = "outputs and artifacts published";
      recorder.emit(std::move(ready));
    }
  } else {
    run.error = result.error().message;
  }

  if (!cancel_reason.empty()) {
    finish("cancelled", "run.cancelled", cancel_reason, "run cancelled: " + cancel_reason);
  } else if (!result) {
    finish("failed", "run.failed", "error", run.error);
  } else if (!recorder.store_error().empty()) {
    run.error = "the run store failed: " + recorder.store_error();
    finish("failed", "run.failed", "store_error", run.error);
  } else if (result->success) {
    finish("succeeded", "run.finished", "completed", "run succeeded");
  } else {
    finish("failed", "run.failed", "stage_failed", "run failed: a stage failed");
  }
}

}  // namespace voidbox::daemon
