#include "runtime/workflow_runner.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace voidbox::runtime {
namespace {

enum class State { waiting, running, done };

struct Graph {
  std::map<std::string, std::size_t> index;
  std::vector<std::vector<std::size_t>> deps;        // step -> what it needs
  std::vector<std::vector<std::size_t>> dependants;  // step -> what needs it
  std::vector<std::optional<std::size_t>> stdin_source;
};

std::expected<Graph, std::string> build_graph(const spec::Workflow& wf) {
  Graph g;
  const auto n = wf.steps.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!g.index.emplace(wf.steps[i].name, i).second) {
      return std::unexpected("duplicate step name '" + wf.steps[i].name + "'");
    }
  }
  g.deps.resize(n);
  g.dependants.resize(n);
  g.stdin_source.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& step = wf.steps[i];
    std::set<std::size_t> seen;
    auto need = [&](const std::string& name,
                    const char* what) -> std::expected<std::size_t, std::string> {
      auto it = g.index.find(name);
      if (it == g.index.end()) {
        return std::unexpected("step '" + step.name + "' " + what + " unknown step '" + name + "'");
      }
      if (it->second == i) return std::unexpected("step '" + step.name + "' depends on itself");
      if (seen.insert(it->second).second) {
        g.deps[i].push_back(it->second);
        g.dependants[it->second].push_back(i);
      }
      return it->second;
    };
    for (const auto& d : step.depends_on) {
      if (auto r = need(d, "depends on"); !r) return std::unexpected(r.error());
    }
    if (step.run.stdin_from) {
      // Reading a step's output implies waiting for it.
      auto r = need(*step.run.stdin_from, "takes stdin_from");
      if (!r) return std::unexpected(r.error());
      g.stdin_source[i] = *r;
    } else if (step.depends_on.size() == 1) {
      g.stdin_source[i] = g.deps[i].front();
    }
  }
  // Kahn's algorithm: anything left unordered sits on a cycle.
  std::vector<std::size_t> indegree(n);
  for (std::size_t i = 0; i < n; ++i) indegree[i] = g.deps[i].size();
  std::deque<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push_back(i);
  }
  std::size_t ordered = 0;
  while (!ready.empty()) {
    std::size_t s = ready.front();
    ready.pop_front();
    ++ordered;
    for (std::size_t d : g.dependants[s]) {
      if (--indegree[d] == 0) ready.push_back(d);
    }
  }
  if (ordered != n) {
    std::string names;
    for (std::size_t i = 0; i < n; ++i) {
      if (indegree[i] != 0) names += (names.empty() ? "" : ", ") + wf.steps[i].name;
    }
    return std::unexpected("workflow steps form a cycle: " + names);
  }
  return g;
}

void append_bounded(std::string& to, std::span<const std::uint8_t> bytes, std::size_t max,
                    bool& truncated) {
  std::size_t room = to.size() < max ? max - to.size() : 0;
  std::size_t n = std::min(room, bytes.size());
  to.append(reinterpret_cast<const char*>(bytes.data()), n);
  if (n < bytes.size()) truncated = true;
}

}  // namespace

std::expected<WorkflowResult, std::string> run_workflow(const spec::Workflow& wf,
                                                        const StepExecutor& exec,
                                                        const WorkflowOptions& options) {
  if (wf.steps.empty()) return std::unexpected("workflow has no steps");
  auto graph = build_graph(wf);
  if (!graph) return std::unexpected(graph.error());
  const std::size_t n = wf.steps.size();
  std::string output_step = wf.output_step.value_or(wf.steps.back().name);
  if (!graph->index.contains(output_step)) {
    return std::unexpected("output_step '" + output_step + "' is not a step");
  }

  WorkflowResult result;
  result.output_step = output_step;
  result.steps.resize(n);
  for (std::size_t i = 0; i < n; ++i) result.steps[i].name = wf.steps[i].name;
  std::vector<State> state(n, State::waiting);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread> workers;
  std::size_t running = 0;
  std::size_t finished = 0;
  std::size_t completions = 0;

  auto skip_dependants = [&](std::size_t failed_step) {
    std::deque<std::size_t> todo(graph->dependants[failed_step].begin(),
                                 graph->dependants[failed_step].end());
    while (!todo.empty()) {
      std::size_t s = todo.front();
      todo.pop_front();
      if (state[s] != State::waiting) continue;
      state[s] = State::done;
      ++finished;
      result.steps[s].status = StepStatus::skipped;
      result.steps[s].error = "skipped: step '" + wf.steps[failed_step].name + "' did not succeed";
      if (options.on_step_end) options.on_step_end(result.steps[s]);
      todo.insert(todo.end(), graph->dependants[s].begin(), graph->dependants[s].end());
    }
  };

  auto run_step = [&](std::size_t i, std::optional<std::string> stdin_data) {
    const spec::Step& step = wf.steps[i];
    StepResult r;
    r.name = step.name;
    control::ExecRequest req;
    req.program = step.run.program;
    req.args = step.run.args;
    if (options.step_env) req.env = options.step_env(step.name);
    if (!step.service) {
      req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
          step.timeout_secs ? std::chrono::seconds(*step.timeout_secs) : options.default_timeout);
    }
    bool truncated_out = false, truncated_err = false;
    control::ExecOutput out{
        [&](std::span<const std::uint8_t> b) {
          append_bounded(r.stdout_text, b, options.max_captured_output, truncated_out);
          if (options.on_output) options.on_output(step.name, OutputStream::stdout_stream, b);
        },
        [&](std::span<const std::uint8_t> b) {
          append_bounded(r.stderr_text, b, options.max_captured_output, truncated_err);
          if (options.on_output) options.on_output(step.name, OutputStream::stderr_stream, b);
        }};
    auto started = std::chrono::steady_clock::now();
    auto exit = exec(req, std::move(out), std::move(stdin_data));
    r.duration_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count());
    r.output_truncated = truncated_out || truncated_err;
    if (!exit) {
      r.status = StepStatus::failed;
      r.exit_code = -1;
      r.error = exit.error().message;
    } else {
      r.exit_code = exit->exit_code;
      if (exit->timed_out) {
        r.status = StepStatus::timed_out;
        r.error = "timed out after " + std::to_string(req.timeout.count() / 1000) + " s";
      } else if (!exit->error.empty()) {
        r.status = StepStatus::failed;
        r.error = exit->error;
      } else {
        r.status = exit->exit_code == 0 ? StepStatus::succeeded : StepStatus::failed;
        if (exit->exit_code != 0) r.error = "exited with " + std::to_string(exit->exit_code);
      }
    }
    std::lock_guard lock(mu);
    result.steps[i] = std::move(r);
    state[i] = State::done;
    --running;
    ++finished;
    if (options.on_step_end) options.on_step_end(result.steps[i]);
    if (result.steps[i].status != StepStatus::succeeded) skip_dependants(i);
    ++completions;
    cv.notify_all();
  };

  const unsigned limit = options.max_parallel == 0 ? 1 : options.max_parallel;
  {
    std::unique_lock lock(mu);
    while (finished < n) {
      for (std::size_t i = 0; i < n && running < limit; ++i) {
        if (state[i] != State::waiting) continue;
        bool ready = true;
        for (std::size_t d : graph->deps[i]) {
          if (state[d] != State::done || result.steps[d].status != StepStatus::succeeded) {
            ready = false;
          }
        }
        if (!ready) continue;
        std::optional<std::string> stdin_data;
        if (graph->stdin_source[i]) {
          stdin_data = result.steps[*graph->stdin_source[i]].stdout_text;
        } else if (graph->deps[i].empty() && options.input) {
          stdin_data = options.input;
        }
        state[i] = State::running;
        ++running;
        if (options.on_step_start) options.on_step_start(wf.steps[i].name);
        workers.emplace_back(run_step, i, std::move(stdin_data));
      }
      if (running == 0) break;  // nothing can start any more (all remaining are skipped)
      const std::size_t seen = completions;
      cv.wait(lock, [&] { return completions != seen; });
    }
  }
  for (auto& w : workers) w.join();

  result.success = true;
  for (const auto& s : result.steps) {
    if (s.status != StepStatus::succeeded) result.success = false;
  }
  result.output = result.steps[graph->index[output_step]].stdout_text;
  return result;
}

}  // namespace voidbox::runtime
