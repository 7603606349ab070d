// The blocks that compose several runs: pipeline (boxes, stages) and
// workflow (steps).
#include <optional>

#include "spec/field_tables.hpp"
#include "spec/reader.hpp"

namespace voidbox::spec::detail {
namespace {

constexpr std::uint64_t kMaxMemoryMb = 1024 * 1024;
constexpr std::uint64_t kMaxVcpus = 255;

void parse_box_sandbox(Reader& r, const YAML::Node& node, const std::string& path,
                       BoxSandbox& out) {
  r.fields(node, path, kBoxSandboxFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "memory_mb") {
               if (auto mb = r.integer(value, field, 1, kMaxMemoryMb)) {
                 out.memory_mb = static_cast<std::uint32_t>(*mb);
               }
             } else if (key == "vcpus") {
               if (auto n = r.integer(value, field, 1, kMaxVcpus)) {
                 out.vcpus = static_cast<std::uint32_t>(*n);
               }
             } else if (key == "network") {
               parse_network(r, value, field, out.network.emplace());
             } else if (key == "env") {
               out.env = r.env_map(value, field);
             } else if (key == "mounts") {
               parse_mounts(r, value, field, out.mounts);
             } else if (key == "snapshot") {
               assign(out.snapshot, r.string(value, field));
             }
           });
}

void parse_guest_dir(Reader& r, const YAML::Node& value, const std::string& field,
                     std::string& out) {
  if (auto guest = r.string(value, field)) {
    check_guest_path(r, value, field, *guest);
    out = std::move(*guest);
  }
}

void parse_box(Reader& r, const YAML::Node& node, const std::string& path, Box& out) {
  out.where = Reader::location_of(node);
  r.fields(node, path, kBoxFields, {"name", "prompt"},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "name") {
               assign(out.name, r.string(value, field));
             } else if (key == "prompt") {
               assign(out.prompt, r.string(value, field));
             } else if (key == "skills") {
               parse_skills(r, value, field, out.skills);
             } else if (key == "llm") {
               Llm llm;
               parse_llm(r, value, field, llm);
               out.llm = std::move(llm);
             } else if (key == "timeout_secs") {
               assign(out.timeout_secs, r.integer(value, field));
             } else if (key == "sandbox") {
               BoxSandbox sandbox;
               parse_box_sandbox(r, value, field, sandbox);
               out.sandbox = std::move(sandbox);
             } else if (key == "outputs") {
               r.sequence(value, field, [&](const YAML::Node& item, const std::string& item_path) {
                 BoxOutput output;
                 r.fields(item, item_path, kBoxOutputFields, {"name"},
                          [&](std::string_view k, const YAML::Node& v, const std::string& f) {
                            if (k == "name") assign(output.name, r.string(v, f));
                            if (k == "guest") parse_guest_dir(r, v, f, output.guest);
                          });
                 out.outputs.push_back(std::move(output));
               });
             } else if (key == "inputs") {
               r.sequence(value, field, [&](const YAML::Node& item, const std::string& item_path) {
                 BoxInput input;
                 r.fields(item, item_path, kBoxInputFields, {"from"},
                          [&](std::string_view k, const YAML::Node& v, const std::string& f) {
                            if (k == "from") assign(input.from, r.string(v, f));
                            if (k == "guest") parse_guest_dir(r, v, f, input.guest);
                          });
                 out.inputs.push_back(std::move(input));
               });
             }
           });
}

void parse_stage(Reader& r, const YAML::Node& node, const std::string& path, Stage& out) {
  out.where = Reader::location_of(node);
  std::optional<std::string> type;
  // Held by optional: a default YAML::Node is a defined null, not "absent".
  std::optional<YAML::Node> name_node;
  std::optional<YAML::Node> boxes_node;
  const bool is_map =
      r.fields(node, path, kStageFields, {"type"},
               [&](std::string_view key, const YAML::Node& value, const std::string& field) {
                 if (key == "type") {
                   type = r.choice(value, field, kStageTypes);
                 } else if (key == "name") {
                   name_node.emplace(value);
                   assign(out.name, r.string(value, field));
                 } else if (key == "boxes") {
                   boxes_node.emplace(value);
                   out.boxes = r.string_list(value, field);
                 }
               });
  if (!is_map || !type) return;
  // The original models a stage as a tagged union: each type has its own
  // field, and the other one is not part of it.
  if (*type == "box") {
    out.type = Stage::Type::box;
    if (boxes_node) r.error(*boxes_node, path + ".boxes", "not allowed when type is box");
    if (!name_node) r.error(node, path + ".name", "missing required field (type is box)");
  } else {
    out.type = Stage::Type::fan_out;
    if (name_node) r.error(*name_node, path + ".name", "not allowed when type is fan_out");
    if (!boxes_node) r.error(node, path + ".boxes", "missing required field (type is fan_out)");
  }
}

void parse_step(Reader& r, const YAML::Node& node, const std::string& path, Step& out) {
  out.where = Reader::location_of(node);
  r.fields(node, path, kStepFields, {"name", "run"},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "name") {
               assign(out.name, r.string(value, field));
             } else if (key == "run") {
               r.fields(value, field, kStepRunFields, {"program"},
                        [&](std::string_view k, const YAML::Node& v, const std::string& f) {
                          if (k == "program") assign(out.run.program, r.string(v, f));
                          if (k == "args") out.run.args = r.string_list(v, f);
                          if (k == "stdin_from") assign(out.run.stdin_from, r.string(v, f));
                        });
             } else if (key == "depends_on") {
               out.depends_on = r.string_list(value, field);
             } else if (key == "mode") {
               if (auto mode = r.choice(value, field, kStepModes)) out.service = true;
             } else if (key == "timeout_secs") {
               assign(out.timeout_secs, r.integer(value, field));
             }
           });
}

}  // namespace

void parse_pipeline(Reader& r, const YAML::Node& node, const std::string& path, Pipeline& out) {
  r.fields(node, path, kPipelineFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "boxes") {
               r.sequence(value, field, [&](const YAML::Node& item, const std::string& p) {
                 Box box;
                 parse_box(r, item, p, box);
                 out.boxes.push_back(std::move(box));
               });
             } else if (key == "stages") {
               r.sequence(value, field, [&](const YAML::Node& item, const std::string& p) {
                 Stage stage;
                 parse_stage(r, item, p, stage);
                 out.stages.push_back(std::move(stage));
               });
             }
           });
}

void parse_workflow(Reader& r, const YAML::Node& node, const std::string& path, Workflow& out) {
  r.fields(node, path, kWorkflowFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "steps") {
               r.sequence(value, field, [&](const YAML::Node& item, const std::string& p) {
                 Step step;
                 parse_step(r, item, p, step);
                 out.steps.push_back(std::move(step));
               });
             } else if (key == "output_step") {
               assign(out.output_step, r.string(value, field));
             }
           });
}

}  // namespace voidbox::spec::detail
