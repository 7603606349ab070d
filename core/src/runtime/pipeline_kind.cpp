// kind: pipeline: one fresh VM per box (agent_box.hpp). `box` stages run in
// order, each given the previous stage's output as its input; a `fan_out`
// stage runs its boxes at once, at most as many as the host's memory holds,
// and passes their outputs on as a JSON array in the stage's order. Named
// box outputs are read-write host directories under the run directory,
// mounted read-only into the boxes that list them as inputs. The first box
// that fails ends the pipeline after its stage; no VM outlives its box.
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/agent_box.hpp"
#include "runtime/kind_runner.hpp"
#include "runtime/spec_mapping.hpp"

namespace voidbox::runtime {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

Error invalid(const std::string& message) {
  return Error{Error::Kind::invalid_spec, message, std::nullopt};
}

// Where the box outputs of this run go.
fs::path default_run_dir(const std::string& name) {
  if (const char* dir = std::getenv("VOIDBOX_RUN_DIR"); dir != nullptr && *dir != '\0') {
    return fs::path(dir) / name;
  }
  fs::path base;
  if (const char* data = std::getenv("XDG_DATA_HOME"); data != nullptr && *data != '\0') {
    base = data;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    base = fs::path(home) / ".local/share";
  } else {
    base = fs::temp_directory_path();
  }
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return base / "voidbox/runs" / (name + "-" + stamp + "-" + std::to_string(::getpid()));
}

// How many boxes of `memory_mb` the host can run at once: three quarters of
// MemAvailable, at least one; $VOIDBOX_MAX_PARALLEL_BOXES overrides.
std::size_t parallel_limit(std::uint32_t memory_mb, std::string& why) {
  if (const char* v = std::getenv("VOIDBOX_MAX_PARALLEL_BOXES"); v != nullptr && *v != '\0') {
    const long n = std::strtol(v, nullptr, 10);
    if (n > 0) {
      why = "$VOIDBOX_MAX_PARALLEL_BOXES is " + std::to_string(n);
      return static_cast<std::size_t>(n);
    }
  }
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") break;
    kib = 0;
  }
  if (kib == 0) {
    why = "MemAvailable is unknown";
    return 1;
  }
  const std::uint64_t available_mb = kib / 1024;
  const std::uint64_t fits = (available_mb * 3 / 4) / std::max<std::uint32_t>(memory_mb, 1);
  why = "MemAvailable " + std::to_string(available_mb) + " MiB holds " + std::to_string(fits) +
        " boxes of " + std::to_string(memory_mb) + " MiB (at 3/4 of it)";
  return std::max<std::uint64_t>(fits, 1);
}

struct PipelineRun {
  PipelineRun(RunContext& r, const spec::Pipeline& p, fs::path dir)
      : run(r), pipeline(p), run_dir(std::move(dir)) {}

  RunContext& run;
  const spec::Pipeline& pipeline;
  fs::path run_dir;
  bool run_dir_made = false;
  std::mutex mu;

  const spec::Box* box(const std::string& name) const {
    for (const auto& b : pipeline.boxes) {
      if (b.name == name) return &b;
    }
    return nullptr;
  }

  Result<fs::path> output_dir(const std::string& output) {
    std::lock_guard lock(mu);
    const fs::path dir = run_dir / "outputs" / output;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return std::unexpected(Error{Error::Kind::sandbox,
                                   "cannot create " + dir.string() + ": " + ec.message(),
                                   std::nullopt});
    }
    run_dir_made = true;
    return dir;
  }

  Result<AgentBoxRequest> request_for(const spec::Box& b, const std::optional<std::string>& input) {
    AgentBoxRequest r;
    r.stage = b.name;
    r.sandbox = run.config;
    r.sandbox.name = b.name;
    if (b.sandbox) {
      const spec::BoxSandbox& s = *b.sandbox;
      if (s.memory_mb) r.sandbox.memory_mb = *s.memory_mb;
      if (s.vcpus) r.sandbox.vcpus = *s.vcpus;
      if (s.network) r.sandbox.network = *s.network;
      for (const auto& [k, v] : resolve_env(s.env, process_env)) r.sandbox.env[k] = v;
      r.sandbox.mounts.insert(r.sandbox.mounts.end(), s.mounts.begin(), s.mounts.end());
    }
    for (const auto& out : b.outputs) {
      auto dir = output_dir(out.name);
      if (!dir) return std::unexpected(dir.error());
      r.sandbox.mounts.push_back({dir->string(), out.guest, false});
    }
    for (const auto& in : b.inputs) {
      auto dir = output_dir(in.from);
      if (!dir) return std::unexpected(dir.error());
      r.sandbox.mounts.push_back({dir->string(), in.guest, true});
    }
    r.llm = b.llm.value_or(run.spec.llm.value_or(spec::Llm{}));
    r.prompt = b.prompt;
    r.skills = b.skills;
    r.spec_dir = run.spec.source_path.empty() ? fs::current_path()
                                              : fs::absolute(run.spec.source_path).parent_path();
    r.timeout_secs = b.timeout_secs;
    r.input = input;
    return r;
  }

  AgentOutcome run_box(const spec::Box& b, const std::optional<std::string>& input) {
    auto request = request_for(b, input);
    Result<AgentOutcome> done = request ? run_agent_box(run, *request)
                                        : Result<AgentOutcome>(std::unexpected(request.error()));
    if (done) return std::move(*done);
    AgentOutcome failed;
    failed.stage = b.name;
    failed.error = done.error().message;
    return failed;
  }

  // The fan-out's boxes, at most `limit` at a time, outcomes in `names` order.
  std::vector<AgentOutcome> fan_out(const std::vector<std::string>& names,
                                    const std::optional<std::string>& input) {
    std::uint32_t largest = 0;
    for (const auto& n : names) {
      const spec::Box* b = box(n);
      if (b == nullptr) continue;  // checked before any stage ran
      const std::uint32_t mb =
          b->sandbox && b->sandbox->memory_mb ? *b->sandbox->memory_mb : run.config.memory_mb;
      largest = std::max(largest, mb);
    }
    std::string why;
    const std::size_t limit = std::min(parallel_limit(largest, why), names.size());
    if (limit < names.size()) {
      run.events.on_warning("fan_out of " + std::to_string(names.size()) + " boxes runs " +
                            std::to_string(limit) + " at a time: " + why);
    }
    std::vector<AgentOutcome> outcomes(names.size());
    std::mutex slots_mu;
    std::condition_variable slots_cv;
    std::size_t running = 0;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < names.size(); ++i) {
      {
        std::unique_lock lock(slots_mu);
        slots_cv.wait(lock, [&] { return running < limit; });
        ++running;
      }
      threads.emplace_back([&, i] {
        outcomes[i] = run_box(*box(names[i]), input);
        std::lock_guard lock(slots_mu);
        --running;
        slots_cv.notify_all();
      });
    }
    for (auto& t : threads) t.join();
    return outcomes;
  }
};

std::string output_of(const AgentOutcome& o) {
  return o.output_written ? o.output : o.result_text;
}

// The fan-out's outputs as a JSON array: JSON outputs as themselves, any
// other text as a string.
std::string merged(const std::vector<AgentOutcome>& outcomes) {
  json::array items;
  for (const auto& o : outcomes) {
    const std::string text = output_of(o);
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) {
      items.emplace_back(text);
    } else {
      items.push_back(std::move(v));
    }
  }
  return json::serialize(items);
}

}  // namespace

Result<RunResult> run_pipeline_kind(RunContext& run) {
  if (!run.spec.pipeline || run.spec.pipeline->boxes.empty()) {
    return std::unexpected(invalid("kind pipeline needs pipeline.boxes"));
  }
  const spec::Pipeline& pipeline = *run.spec.pipeline;
  std::vector<spec::Stage> stages = pipeline.stages;
  if (stages.empty()) {
    for (const auto& b : pipeline.boxes) {
      spec::Stage s;
      s.type = spec::Stage::Type::box;
      s.name = b.name;
      stages.push_back(s);
    }
  }
  PipelineRun p(run, pipeline,
                run.options.run_dir ? *run.options.run_dir : default_run_dir(run_name(run.spec)));
  for (const auto& s : stages) {
    const std::vector<std::string> names =
        s.type == spec::Stage::Type::box ? std::vector<std::string>{s.name} : s.boxes;
    if (names.empty()) return std::unexpected(invalid("a fan_out stage needs boxes"));
    for (const auto& n : names) {
      if (p.box(n) == nullptr)
        return std::unexpected(invalid("stage names unknown box '" + n + "'"));
    }
  }

  RunResult result;
  result.kind = spec::Kind::pipeline;
  result.success = true;
  std::optional<std::string> input = run.options.input;
  for (const auto& s : stages) {
    std::vector<AgentOutcome> outcomes;
    if (s.type == spec::Stage::Type::box) {
      outcomes.push_back(p.run_box(*p.box(s.name), input));
      input = output_of(outcomes.back());
    } else {
      outcomes = p.fan_out(s.boxes, input);
      input = merged(outcomes);
    }
    for (auto& o : outcomes) {
      if (!o.success) result.success = false;
      result.agents.push_back(std::move(o));
    }
    if (!result.success) break;
  }
  if (result.success) result.output = input.value_or("");
  if (p.run_dir_made) result.outputs_dir = (p.run_dir / "outputs").string();
  run.events.on_run_finished(result);
  return result;
}

}  // namespace voidbox::runtime
