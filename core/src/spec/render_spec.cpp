// The resolved spec as a document: every field present, defaults filled in,
// unset optionals as null. The output is itself a valid spec (skills use the
// string form where they have one), so `inspect` output can be fed back.
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <sstream>

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec {
namespace {

namespace json = boost::json;

template <typename T>
json::value optional_value(const std::optional<T>& value) {
  if (!value) return nullptr;
  return json::value_from(*value);
}

json::object env_object(const std::map<std::string, std::string>& env) {
  json::object out;
  for (const auto& [name, value] : env) out[name] = value;
  return out;
}

json::array mounts_array(const std::vector<Mount>& mounts) {
  json::array out;
  for (const Mount& m : mounts) {
    out.push_back(json::object{{"host", m.host},
                               {"guest", m.guest},
                               {"mode", m.readonly ? "ro" : "rw"},
                               {"type", m.type == MountType::virtiofs ? "virtiofs" : "9p"}});
  }
  return out;
}

json::array skills_array(const std::vector<Skill>& skills) {
  json::array out;
  for (const Skill& s : skills) {
    if (s.type == Skill::Type::oci) {
      out.push_back(json::object{{"image", s.value}, {"mount", s.mount}, {"readonly", s.readonly}});
    } else {
      out.push_back(json::string(std::string(to_string(s.type)) + ":" + s.value));
    }
  }
  return out;
}

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& item : items) out.push_back(json::string(item));
  return out;
}

json::object network_object(const NetworkPolicy& n) {
  json::array ports;
  for (const PortForward& p : n.ports) {
    ports.push_back(json::string(p.address + ":" + std::to_string(p.host_port) + ":" +
                                 std::to_string(p.guest_port) +
                                 (p.protocol == PortForward::Protocol::udp ? "/udp" : "")));
  }
  return json::object{
      {"enabled", n.enabled},
      {"allow_domains",
       n.allow_domains ? json::value(string_array(*n.allow_domains)) : json::value(nullptr)},
      {"allow_cidrs", string_array(n.allow_cidrs)},
      {"deny_cidrs", string_array(n.deny_cidrs)},
      {"max_connections_per_second", n.max_connections_per_second},
      {"max_concurrent_connections", n.max_concurrent_connections},
      {"ports", std::move(ports)}};
}

json::value llm_value(const std::optional<Llm>& llm) {
  if (!llm) return nullptr;
  return json::object{{"provider", llm->provider},
                      {"model", optional_value(llm->model)},
                      {"base_url", optional_value(llm->base_url)},
                      {"api_key_env", optional_value(llm->api_key_env)},
                      {"credential_proxy", optional_value(llm->credential_proxy)}};
}

json::object sandbox_object(const Sandbox& s) {
  return json::object{{"mode", to_string(s.mode)},
                      {"kernel", optional_value(s.kernel)},
                      {"initramfs", optional_value(s.initramfs)},
                      {"memory_mb", s.memory_mb},
                      {"vcpus", s.vcpus},
                      {"network", network_object(s.network)},
                      {"env", env_object(s.env)},
                      {"mounts", mounts_array(s.mounts)},
                      {"image", optional_value(s.image)},
                      {"guest_image", optional_value(s.guest_image)},
                      {"snapshot", optional_value(s.snapshot)}};
}

json::value observe_value(const std::optional<Observe>& o) {
  if (!o) return nullptr;
  return json::object{{"traces", o->traces},
                      {"metrics", o->metrics},
                      {"logs", o->logs},
                      {"otlp_endpoint", optional_value(o->otlp_endpoint)},
                      {"service_name", optional_value(o->service_name)},
                      {"telemetry_buffer_size", optional_value(o->telemetry_buffer_size)}};
}

json::value agent_value(const std::optional<Agent>& a) {
  if (!a) return nullptr;
  return json::object{{"prompt", optional_value(a->prompt)},
                      {"skills", skills_array(a->skills)},
                      {"timeout_secs", optional_value(a->timeout_secs)},
                      {"output_file", optional_value(a->output_file)},
                      {"messaging", json::object{{"enabled", a->messaging.enabled},
                                                 {"provider_bridge",
                                                  optional_value(a->messaging.provider_bridge)}}},
                      {"mode", to_string(a->mode)}};
}

json::value box_sandbox_value(const std::optional<BoxSandbox>& s) {
  if (!s) return nullptr;
  return json::object{
      {"memory_mb", optional_value(s->memory_mb)},
      {"vcpus", optional_value(s->vcpus)},
      {"network", s->network ? json::value(network_object(*s->network)) : json::value(nullptr)},
      {"env", env_object(s->env)},
      {"mounts", mounts_array(s->mounts)},
      {"snapshot", optional_value(s->snapshot)}};
}

json::value pipeline_value(const std::optional<Pipeline>& p) {
  if (!p) return nullptr;
  json::array boxes;
  for (const Box& b : p->boxes) {
    json::array outputs;
    for (const BoxOutput& o : b.outputs) outputs.push_back({{"name", o.name}, {"guest", o.guest}});
    json::array inputs;
    for (const BoxInput& i : b.inputs) inputs.push_back({{"from", i.from}, {"guest", i.guest}});
    boxes.push_back(json::object{{"name", b.name},
                                 {"prompt", b.prompt},
                                 {"skills", skills_array(b.skills)},
                                 {"llm", llm_value(b.llm)},
                                 {"timeout_secs", optional_value(b.timeout_secs)},
                                 {"sandbox", box_sandbox_value(b.sandbox)},
                                 {"outputs", std::move(outputs)},
                                 {"inputs", std::move(inputs)}});
  }
  json::array stages;
  for (const Stage& s : p->stages) {
    if (s.type == Stage::Type::box) {
      stages.push_back(json::object{{"type", "box"}, {"name", s.name}});
    } else {
      stages.push_back(json::object{{"type", "fan_out"}, {"boxes", json::value_from(s.boxes)}});
    }
  }
  return json::object{{"boxes", std::move(boxes)}, {"stages", std::move(stages)}};
}

json::value workflow_value(const std::optional<Workflow>& w) {
  if (!w) return nullptr;
  json::array steps;
  for (const Step& s : w->steps) {
    steps.push_back(
        json::object{{"name", s.name},
                     {"run", json::object{{"program", s.run.program},
                                          {"args", json::value_from(s.run.args)},
                                          {"stdin_from", optional_value(s.run.stdin_from)}}},
                     {"depends_on", json::value_from(s.depends_on)},
                     {"mode", s.service ? json::value("service") : json::value(nullptr)},
                     {"timeout_secs", optional_value(s.timeout_secs)}});
  }
  return json::object{{"steps", std::move(steps)}, {"output_step", optional_value(w->output_step)}};
}

json::object spec_object(const RunSpec& spec) {
  return json::object{{"api_version", spec.api_version},
                      {"kind", to_string(spec.kind)},
                      {"name", optional_value(spec.name)},
                      {"sandbox", sandbox_object(spec.sandbox)},
                      {"llm", llm_value(spec.llm)},
                      {"observe", observe_value(spec.observe)},
                      {"agent", agent_value(spec.agent)},
                      {"pipeline", pipeline_value(spec.pipeline)},
                      {"workflow", workflow_value(spec.workflow)}};
}

void write_pretty(std::ostream& os, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    os << "{\n";
    bool first = true;
    for (const auto& [key, item] : v.get_object()) {
      if (!first) os << ",\n";
      first = false;
      os << pad << "  " << json::serialize(json::string(key)) << ": ";
      write_pretty(os, item, indent + 1);
    }
    os << "\n" << pad << "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    os << "[\n";
    bool first = true;
    for (const json::value& item : v.get_array()) {
      if (!first) os << ",\n";
      first = false;
      os << pad << "  ";
      write_pretty(os, item, indent + 1);
    }
    os << "\n" << pad << "]";
  } else {
    os << json::serialize(v);
  }
}

bool looks_like_non_string(const std::string& s) {
  // Strings a YAML reader would resolve to another type need quotes.
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return true;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
    return true;
  }
  return s.find_first_not_of("+-.0123456789eE") == std::string::npos;
}

void emit_yaml(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : v.get_object()) {
        out << YAML::Key << std::string(key) << YAML::Value;
        emit_yaml(out, item);
      }
      out << YAML::EndMap;
      break;
    case json::kind::array:
      out << YAML::BeginSeq;
      for (const json::value& item : v.get_array()) emit_yaml(out, item);
      out << YAML::EndSeq;
      break;
    case json::kind::string: {
      const std::string s(v.get_string());
      if (s.find('\n') != std::string::npos) {
        out << YAML::Literal << s;
      } else if (looks_like_non_string(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case json::kind::bool_:
      out << v.get_bool();
      break;
    case json::kind::null:
      out << YAML::Null;
      break;
    default:
      out << json::serialize(v);  // numbers
      break;
  }
}

}  // namespace

std::string spec_to_json(const RunSpec& spec) {
  std::ostringstream os;
  write_pretty(os, spec_object(spec), 0);
  os << "\n";
  return os.str();
}

std::string spec_to_yaml(const RunSpec& spec) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  out.SetBoolFormat(YAML::TrueFalseBool);
  emit_yaml(out, spec_object(spec));
  return std::string(out.c_str()) + "\n";
}

std::string spec_summary(const RunSpec& spec) {
  auto count = [](std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
  };
  std::string out = "kind " + std::string(to_string(spec.kind));
  switch (spec.kind) {
    case Kind::agent:
      if (spec.agent && spec.agent->mode != AgentMode::task) {
        out += ", mode " + std::string(to_string(spec.agent->mode));
      }
      if (spec.agent && !spec.agent->skills.empty()) {
        out += ", " + count(spec.agent->skills.size(), "skill", "skills");
      }
      break;
    case Kind::pipeline:
      if (spec.pipeline) {
        out += ", " + count(spec.pipeline->boxes.size(), "box", "boxes");
        if (!spec.pipeline->stages.empty()) {
          out += ", " + count(spec.pipeline->stages.size(), "stage", "stages");
        }
      }
      break;
    case Kind::workflow:
      if (spec.workflow) out += ", " + count(spec.workflow->steps.size(), "step", "steps");
      break;
    case Kind::sandbox:
      break;
  }
  return out;
}

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::agent:
      return "agent";
    case Kind::pipeline:
      return "pipeline";
    case Kind::workflow:
      return "workflow";
    case Kind::sandbox:
      return "sandbox";
  }
  return "agent";
}

std::string_view to_string(SandboxMode mode) {
  switch (mode) {
    case SandboxMode::auto_:
      return "auto";
    case SandboxMode::local:
      return "local";
    case SandboxMode::mock:
      return "mock";
  }
  return "auto";
}

std::string_view to_string(AgentMode mode) {
  switch (mode) {
    case AgentMode::task:
      return "task";
    case AgentMode::service:
      return "service";
    case AgentMode::interactive:
      return "interactive";
  }
  return "task";
}

std::string_view to_string(Skill::Type type) {
  switch (type) {
    case Skill::Type::agent:
      return "agent";
    case Skill::Type::file:
      return "file";
    case Skill::Type::remote:
      return "remote";
    case Skill::Type::cli:
      return "cli";
    case Skill::Type::mcp:
      return "mcp";
    case Skill::Type::oci:
      return "oci";
  }
  return "agent";
}

}  // namespace voidbox::spec
