// The blocks that describe one VM and one agent: sandbox, llm, observe, agent.
#include <algorithm>
#include <cctype>

#include "spec/field_tables.hpp"
#include "spec/reader.hpp"
#include "spec/suggest.hpp"

namespace voidbox::spec::detail {
namespace {

constexpr std::uint64_t kMaxMemoryMb = 1024 * 1024;  // 1 TiB: beyond that it is a typo
constexpr std::uint64_t kMaxVcpus = 255;             // KVM's x86 APIC id limit
constexpr std::uint64_t kMaxU32 = 0xffffffffu;

SandboxMode sandbox_mode_from(const std::string& text) {
  if (text == "local") return SandboxMode::local;
  if (text == "mock") return SandboxMode::mock;
  return SandboxMode::auto_;
}

AgentMode agent_mode_from(const std::string& text) {
  if (text == "service") return AgentMode::service;
  if (text == "interactive") return AgentMode::interactive;
  return AgentMode::task;
}

void parse_mount(Reader& r, const YAML::Node& node, const std::string& path, Mount& out) {
  r.fields(node, path, kMountFields, {"host", "guest"},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "host") {
               assign(out.host, r.string(value, field));
             } else if (key == "guest") {
               if (auto guest = r.string(value, field)) {
                 check_guest_path(r, value, field, *guest);
                 out.guest = std::move(*guest);
               }
             } else if (key == "mode") {
               if (auto mode = r.choice(value, field, kMountModes)) out.readonly = *mode == "ro";
             } else if (key == "type") {
               if (auto type = r.choice(value, field, kMountTypes)) {
                 out.type = *type == "virtiofs" ? MountType::virtiofs : MountType::ninep;
               }
             }
           });
}

void parse_string_skill(Reader& r, const YAML::Node& node, const std::string& path, Skill& out) {
  const std::string text = node.Scalar();
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) {
    r.error(node, path,
            "skill '" + text + "' must have the form <type>:<value> with type " +
                join_alternatives(kSkillTypes));
    return;
  }
  const std::string type = text.substr(0, colon);
  out.value = text.substr(colon + 1);
  const auto* found = std::find(std::begin(kSkillTypes), std::end(kSkillTypes), type);
  if (found == std::end(kSkillTypes)) {
    std::string message =
        "unknown skill type '" + type + "' (expected " + join_alternatives(kSkillTypes);
    if (auto match = closest_match(type, kSkillTypes)) {
      message += "; did you mean '" + std::string(*match) + "'?";
    }
    r.error(node, path, message + ")");
    return;
  }
  out.type = static_cast<Skill::Type>(found - std::begin(kSkillTypes));
  if (out.value.empty()) {
    r.error(node, path, "skill '" + text + "' has an empty value");
    return;
  }
  if (out.type == Skill::Type::remote && std::count(out.value.begin(), out.value.end(), '/') != 2) {
    r.error(node, path, "remote skill '" + out.value + "' must have the form owner/repo/skill");
  }
}

void parse_oci_skill(Reader& r, const YAML::Node& node, const std::string& path, Skill& out) {
  out.type = Skill::Type::oci;
  r.fields(node, path, kOciSkillFields, {"image", "mount"},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "image") {
               assign(out.value, r.string(value, field));
             } else if (key == "mount") {
               if (auto mount = r.string(value, field)) {
                 check_guest_path(r, value, field, *mount);
                 out.mount = std::move(*mount);
               }
             } else if (key == "readonly") {
               assign(out.readonly, r.boolean(value, field));
             }
           });
}

void parse_messaging(Reader& r, const YAML::Node& node, const std::string& path, Messaging& out) {
  r.fields(node, path, kMessagingFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "enabled") {
               assign(out.enabled, r.boolean(value, field));
             } else if (key == "provider_bridge") {
               assign(out.provider_bridge, r.string(value, field));
             }
           });
}

}  // namespace

void parse_mounts(Reader& r, const YAML::Node& node, const std::string& path,
                  std::vector<Mount>& out) {
  r.sequence(node, path, [&](const YAML::Node& item, const std::string& item_path) {
    Mount mount;
    parse_mount(r, item, item_path, mount);
    out.push_back(std::move(mount));
  });
}

void parse_skills(Reader& r, const YAML::Node& node, const std::string& path,
                  std::vector<Skill>& out) {
  r.sequence(node, path, [&](const YAML::Node& item, const std::string& item_path) {
    Skill skill;
    skill.where = Reader::location_of(item);
    if (item.IsMap()) {
      parse_oci_skill(r, item, item_path, skill);
    } else if (item.IsScalar()) {
      parse_string_skill(r, item, item_path, skill);
    } else {
      r.error(
          item, item_path,
          "expected a skill string \"<type>:<value>\" or {image, mount}, got " + r.describe(item));
    }
    out.push_back(std::move(skill));
  });
}

void parse_sandbox(Reader& r, const YAML::Node& node, const std::string& path, Sandbox& out) {
  r.fields(node, path, kSandboxFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "mode") {
               // The original compares the mode case-insensitively.
               if (auto mode = r.choice(value, field, kSandboxModes, true)) {
                 out.mode = sandbox_mode_from(*mode);
               }
             } else if (key == "kernel") {
               assign(out.kernel, r.string(value, field));
             } else if (key == "initramfs") {
               assign(out.initramfs, r.string(value, field));
             } else if (key == "memory_mb") {
               if (auto mb = r.integer(value, field, 1, kMaxMemoryMb)) {
                 out.memory_mb = static_cast<std::uint32_t>(*mb);
               }
             } else if (key == "vcpus") {
               if (auto n = r.integer(value, field, 1, kMaxVcpus)) {
                 out.vcpus = static_cast<std::uint32_t>(*n);
               }
             } else if (key == "network") {
               parse_network(r, value, field, out.network);
             } else if (key == "env") {
               out.env = r.env_map(value, field);
             } else if (key == "mounts") {
               parse_mounts(r, value, field, out.mounts);
             } else if (key == "image") {
               assign(out.image, r.string(value, field));
             } else if (key == "guest_image") {
               assign(out.guest_image, r.string(value, field));
             } else if (key == "snapshot") {
               assign(out.snapshot, r.string(value, field));
             }
           });
}

void parse_llm(Reader& r, const YAML::Node& node, const std::string& path, Llm& out) {
  r.fields(node, path, kLlmFields, {"provider"},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "provider") {
               auto provider = r.string(value, field);
               if (!provider) return;
               std::string lower = *provider;
               for (char& c : lower)
                 c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
               if (std::find(std::begin(kProviders), std::end(kProviders), lower) ==
                   std::end(kProviders)) {
                 // The original runs unknown providers as claude; keep such
                 // specs loading, but say so.
                 r.warning(Reader::location_of(value), field,
                           "unknown provider '" + *provider +
                               "' (known: " + join_alternatives(kProviders) +
                               "); it runs as claude" + did_you_mean(lower, kProviders));
                 out.provider = "claude";
               } else {
                 out.provider = lower;
               }
             } else if (key == "model") {
               assign(out.model, r.string(value, field));
             } else if (key == "base_url") {
               assign(out.base_url, r.string(value, field));
             } else if (key == "api_key_env") {
               assign(out.api_key_env, r.string(value, field));
             } else if (key == "credential_proxy") {
               assign(out.credential_proxy, r.boolean(value, field));
             }
           });
}

void parse_observe(Reader& r, const YAML::Node& node, const std::string& path, Observe& out) {
  r.fields(node, path, kObserveFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "traces") {
               assign(out.traces, r.boolean(value, field));
             } else if (key == "metrics") {
               assign(out.metrics, r.boolean(value, field));
             } else if (key == "logs") {
               assign(out.logs, r.boolean(value, field));
             } else if (key == "otlp_endpoint") {
               assign(out.otlp_endpoint, r.string(value, field));
             } else if (key == "service_name") {
               assign(out.service_name, r.string(value, field));
             } else if (key == "telemetry_buffer_size") {
               if (auto n = r.integer(value, field, 1, kMaxU32)) {
                 out.telemetry_buffer_size = static_cast<std::uint32_t>(*n);
               }
             }
           });
}

void parse_agent(Reader& r, const YAML::Node& node, const std::string& path, Agent& out) {
  r.fields(node, path, kAgentFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "prompt") {
               assign(out.prompt, r.string(value, field));
             } else if (key == "skills") {
               parse_skills(r, value, field, out.skills);
             } else if (key == "timeout_secs") {
               assign(out.timeout_secs, r.integer(value, field));
             } else if (key == "output_file") {
               if (auto file = r.string(value, field)) {
                 check_guest_path(r, value, field, *file);
                 out.output_file = std::move(*file);
               }
             } else if (key == "messaging") {
               parse_messaging(r, value, field, out.messaging);
             } else if (key == "mode") {
               if (auto mode = r.choice(value, field, kAgentModes)) {
                 out.mode = agent_mode_from(*mode);
               }
             }
           });
}

}  // namespace voidbox::spec::detail
