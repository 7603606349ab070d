// Rules that involve more than one field: kind/block consistency, agent
// modes, pipeline and workflow references, dependency cycles.
#include <algorithm>
#include <map>
#include <set>

#include "spec/network_syntax.hpp"
#include "spec/reader.hpp"
#include "spec/suggest.hpp"

namespace voidbox::spec::detail {
namespace {

class Validator {
 public:
  Validator(const RunSpec& spec, const Provenance& provenance, std::string file)
      : spec_(spec), provenance_(provenance), file_(std::move(file)) {}

  Diagnostics run() {
    check_kind();
    check_network(spec_.sandbox.network, "sandbox.network");
    if (spec_.pipeline) {
      for (std::size_t i = 0; i < spec_.pipeline->boxes.size(); ++i) {
        const auto& sandbox = spec_.pipeline->boxes[i].sandbox;
        if (sandbox && sandbox->network) {
          check_network(*sandbox->network,
                        "pipeline.boxes[" + std::to_string(i) + "].sandbox.network");
        }
      }
    }
    if (spec_.agent) check_agent(*spec_.agent);
    if (spec_.pipeline) check_pipeline(*spec_.pipeline);
    if (spec_.workflow) check_workflow(*spec_.workflow);
    return std::move(out_);
  }

 private:
  void report(Severity severity, const std::string& path, std::string message,
              std::optional<Location> at = std::nullopt) {
    const Location where = at.value_or(provenance_.find(path));
    out_.push_back({file_, where.line, where.column, path, std::move(message), severity});
  }
  void error(const std::string& path, std::string message,
             std::optional<Location> at = std::nullopt) {
    report(Severity::error, path, std::move(message), at);
  }
  bool failed(const std::string& path) const { return provenance_.has_failed(path); }
  // For a parsed spec, a missing field was already reported by the parser;
  // only a field that is present but empty is this validator's business.
  // A spec built in code has no provenance, so every empty field counts.
  bool present(const std::string& path) const {
    return provenance_.where.empty() || provenance_.where.contains(path);
  }

  void check_kind() {
    if (failed("kind")) return;
    const std::string kind(to_string(spec_.kind));
    struct Block {
      std::string_view name;
      bool present;
      Kind owner;
    };
    const Block blocks[] = {{"agent", spec_.agent.has_value(), Kind::agent},
                            {"pipeline", spec_.pipeline.has_value(), Kind::pipeline},
                            {"workflow", spec_.workflow.has_value(), Kind::workflow}};
    for (const Block& block : blocks) {
      const std::string name(block.name);
      if (block.owner == spec_.kind && !block.present) {
        error(name, "required when kind is " + kind, provenance_.find("kind"));
      } else if (block.owner != spec_.kind && block.present) {
        // The original rejects these for sandbox runs and ignores them
        // otherwise; ignoring silently hides mistakes, so warn.
        report(spec_.kind == Kind::sandbox ? Severity::error : Severity::warning, name,
               spec_.kind == Kind::sandbox ? "not allowed when kind is sandbox"
                                           : "ignored when kind is " + kind);
      }
    }
  }

  void check_network(const NetworkPolicy& network, const std::string& path) {
    check_network_policy(network, path, [&](const std::string& at, std::string message) {
      error(at, std::move(message));
    });
  }

  void check_agent(const Agent& agent) {
    if (failed("agent") || failed("agent.mode")) return;
    if (agent.mode != AgentMode::interactive && !failed("agent.prompt")) {
      if (!agent.prompt) {
        error("agent.prompt", "missing required field (needed unless agent.mode is interactive)",
              provenance_.find("agent"));
      } else if (agent.prompt->find_first_not_of(" \t\r\n") == std::string::npos) {
        error("agent.prompt", "must not be empty");
      }
    }
    const std::string mode(to_string(agent.mode));
    if (agent.mode == AgentMode::service || agent.mode == AgentMode::interactive) {
      if (agent.timeout_secs) {
        error("agent.timeout_secs", "not allowed when agent.mode is " + mode);
      }
    }
    if (agent.mode == AgentMode::service) {
      if (!agent.output_file && !failed("agent.output_file")) {
        error("agent.output_file", "required when agent.mode is service",
              provenance_.find("agent.mode"));
      }
      if (spec_.llm && spec_.llm->credential_proxy.value_or(false)) {
        error("llm.credential_proxy", "not allowed when agent.mode is service");
      }
    }
  }

  // Reports duplicate names among `names` (empty ones are already reported
  // as missing); returns the set of known names.
  std::vector<std::string_view> unique_names(const std::vector<std::string>& names,
                                             const std::string& list_path, std::string_view what) {
    std::map<std::string_view, std::size_t> first;
    std::vector<std::string_view> known;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) continue;
      const std::string path = list_path + "[" + std::to_string(i) + "].name";
      auto [it, inserted] = first.emplace(names[i], i);
      if (inserted) {
        known.push_back(names[i]);
        continue;
      }
      const Location at = provenance_.find(list_path + "[" + std::to_string(it->second) + "]");
      error(path, "duplicate " + std::string(what) + " name '" + names[i] + "' (first defined at " +
                      std::to_string(at.line) + ":" + std::to_string(at.column) + ")");
    }
    return known;
  }

  void check_reference(const std::string& path, const std::string& name,
                       std::span<const std::string_view> known, std::string_view what) {
    if (name.empty() || failed(path)) return;
    if (std::find(known.begin(), known.end(), name) != known.end()) return;
    error(path, "unknown " + std::string(what) + " '" + name + "'" + did_you_mean(name, known));
  }

  void check_pipeline(const Pipeline& pipeline) {
    if (failed("pipeline")) return;
    if (pipeline.boxes.empty() && !failed("pipeline.boxes")) {
      error("pipeline.boxes", "must not be empty (a pipeline needs at least one box)");
    }
    std::vector<std::string> names;
    for (const Box& box : pipeline.boxes) names.push_back(box.name);
    const auto boxes = unique_names(names, "pipeline.boxes", "box");

    std::set<std::string_view> staged;
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
      const Stage& stage = pipeline.stages[i];
      const std::string path = "pipeline.stages[" + std::to_string(i) + "]";
      if (stage.type == Stage::Type::box) {
        check_reference(path + ".name", stage.name, boxes, "box");
        staged.insert(stage.name);
        continue;
      }
      if (stage.boxes.empty() && present(path + ".boxes") && !failed(path + ".boxes")) {
        error(path + ".boxes", "must not be empty (fan_out needs at least one box)");
      }
      for (std::size_t j = 0; j < stage.boxes.size(); ++j) {
        check_reference(path + ".boxes[" + std::to_string(j) + "]", stage.boxes[j], boxes, "box");
        staged.insert(stage.boxes[j]);
      }
    }
    check_box_inputs(pipeline);
    if (pipeline.stages.empty() || failed("pipeline.stages")) return;
    for (std::size_t i = 0; i < pipeline.boxes.size(); ++i) {
      const std::string& name = pipeline.boxes[i].name;
      if (!name.empty() && !staged.contains(name)) {
        report(Severity::warning, "pipeline.boxes[" + std::to_string(i) + "]",
               "box '" + name + "' is not used by any stage");
      }
    }
  }

  // Outputs are named host directories; an input mounts one that an earlier
  // stage wrote, so its producer must exist, be unique and run first.
  void check_box_inputs(const Pipeline& pipeline) {
    std::map<std::string_view, std::size_t> stage_of;  // box name -> position in the run
    if (pipeline.stages.empty()) {
      for (std::size_t i = 0; i < pipeline.boxes.size(); ++i) {
        stage_of.emplace(pipeline.boxes[i].name, i);
      }
    }
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
      const Stage& stage = pipeline.stages[i];
      if (stage.type == Stage::Type::box) stage_of.emplace(stage.name, i);
      for (const std::string& name : stage.boxes) stage_of.emplace(name, i);
    }

    std::map<std::string_view, std::size_t> producer;  // output name -> box index
    std::vector<std::string_view> output_names;
    for (std::size_t i = 0; i < pipeline.boxes.size(); ++i) {
      const auto& outputs = pipeline.boxes[i].outputs;
      for (std::size_t j = 0; j < outputs.size(); ++j) {
        if (outputs[j].name.empty()) continue;
        auto [it, inserted] = producer.emplace(outputs[j].name, i);
        if (inserted) {
          output_names.push_back(outputs[j].name);
        } else {
          error("pipeline.boxes[" + std::to_string(i) + "].outputs[" + std::to_string(j) + "].name",
                "duplicate output name '" + outputs[j].name + "' (also an output of box '" +
                    pipeline.boxes[it->second].name + "')");
        }
      }
    }

    for (std::size_t i = 0; i < pipeline.boxes.size(); ++i) {
      const Box& box = pipeline.boxes[i];
      for (std::size_t j = 0; j < box.inputs.size(); ++j) {
        const std::string path =
            "pipeline.boxes[" + std::to_string(i) + "].inputs[" + std::to_string(j) + "].from";
        const std::string& from = box.inputs[j].from;
        auto it = producer.find(from);
        if (it == producer.end()) {
          check_reference(path, from, output_names, "output");
          continue;
        }
        const Box& source = pipeline.boxes[it->second];
        if (it->second == i) {
          error(path, "box '" + box.name + "' cannot read its own output '" + from + "'");
          continue;
        }
        auto consumer_stage = stage_of.find(box.name);
        auto producer_stage = stage_of.find(source.name);
        if (consumer_stage != stage_of.end() && producer_stage != stage_of.end() &&
            producer_stage->second >= consumer_stage->second) {
          error(path, "output '" + from + "' is written by box '" + source.name +
                          "', which does not run before box '" + box.name + "'");
        }
      }
    }
  }

  void check_workflow(const Workflow& workflow) {
    if (failed("workflow")) return;
    if (workflow.steps.empty() && !failed("workflow.steps")) {
      error("workflow.steps", "must not be empty (a workflow needs at least one step)");
    }
    std::vector<std::string> names;
    for (const Step& step : workflow.steps) names.push_back(step.name);
    const auto steps = unique_names(names, "workflow.steps", "step");

    for (std::size_t i = 0; i < workflow.steps.size(); ++i) {
      const Step& step = workflow.steps[i];
      const std::string path = "workflow.steps[" + std::to_string(i) + "]";
      if (present(path + ".name") && step.name.empty() && !failed(path + ".name")) {
        error(path + ".name", "must not be empty");
      }
      if (present(path + ".run.program") && step.run.program.empty() &&
          !failed(path + ".run.program")) {
        error(path + ".run.program", "must not be empty");
      }
      for (std::size_t j = 0; j < step.depends_on.size(); ++j) {
        check_reference(path + ".depends_on[" + std::to_string(j) + "]", step.depends_on[j], steps,
                        "step");
      }
      if (step.run.stdin_from) {
        check_reference(path + ".run.stdin_from", *step.run.stdin_from, steps, "step");
      }
      if (step.service && step.timeout_secs) {
        error(path + ".timeout_secs", "not allowed when the step's mode is service");
      }
    }
    if (workflow.output_step) {
      check_reference("workflow.output_step", *workflow.output_step, steps, "step");
    }
    check_cycles(workflow);
  }

  // A step waits for its depends_on steps and for its stdin_from step (it
  // cannot read output that does not exist yet), so both are edges.
  void check_cycles(const Workflow& workflow) {
    const std::size_t n = workflow.steps.size();
    std::map<std::string_view, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) index.emplace(workflow.steps[i].name, i);
    std::vector<std::vector<std::size_t>> edges(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Step& step = workflow.steps[i];
      auto add = [&](const std::string& name) {
        if (auto it = index.find(name); it != index.end()) edges[i].push_back(it->second);
      };
      for (const std::string& dep : step.depends_on) add(dep);
      if (step.run.stdin_from) add(*step.run.stdin_from);
    }

    enum class Color { white, gray, black };
    std::vector<Color> color(n, Color::white);
    std::set<std::vector<std::size_t>> reported;
    for (std::size_t start = 0; start < n; ++start) {
      if (color[start] != Color::white) continue;
      // Iterative DFS: a spec with thousands of steps must not overflow the stack.
      std::vector<std::pair<std::size_t, std::size_t>> stack{{start, 0}};
      color[start] = Color::gray;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == edges[node].size()) {
          color[node] = Color::black;
          stack.pop_back();
          continue;
        }
        const std::size_t target = edges[node][next++];
        if (color[target] == Color::white) {
          color[target] = Color::gray;
          stack.emplace_back(target, 0);
        } else if (color[target] == Color::gray) {
          std::vector<std::size_t> cycle;
          auto it = std::find_if(stack.begin(), stack.end(),
                                 [&](const auto& frame) { return frame.first == target; });
          for (; it != stack.end(); ++it) cycle.push_back(it->first);
          report_cycle(workflow, std::move(cycle), reported);
        }
      }
    }
  }

  void report_cycle(const Workflow& workflow, std::vector<std::size_t> cycle,
                    std::set<std::vector<std::size_t>>& reported) {
    // Start at the earliest step so the message does not depend on DFS order.
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    if (!reported.insert(cycle).second) return;
    // A long cycle is shown by its ends; the middle adds nothing readable.
    constexpr std::size_t kShown = 8;
    std::string text;
    for (std::size_t k = 0; k < cycle.size(); ++k) {
      if (cycle.size() > 2 * kShown && k == kShown) {
        text += "... (" + std::to_string(cycle.size() - 2 * kShown) + " more) -> ";
        k = cycle.size() - kShown;
      }
      text += workflow.steps[cycle[k]].name + " -> ";
    }
    text += workflow.steps[cycle.front()].name;
    const std::string path = "workflow.steps[" + std::to_string(cycle.front()) + "]";
    error(path, "dependency cycle: " + text);
  }

  const RunSpec& spec_;
  const Provenance& provenance_;
  std::string file_;
  Diagnostics out_;
};

}  // namespace

Diagnostics validate_with(const RunSpec& spec, const Provenance& provenance,
                          const std::string& file) {
  return Validator(spec, provenance, file).run();
}

void sort_by_position(Diagnostics& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
}

}  // namespace voidbox::spec::detail

namespace voidbox::spec {

Diagnostics validate_spec(const RunSpec& spec) {
  Diagnostics out = detail::validate_with(spec, detail::Provenance{}, spec.source_path);
  detail::sort_by_position(out);
  return out;
}

}  // namespace voidbox::spec
