// The fields each block of a spec accepts. The parser rejects anything else,
// and a unit test checks the JSON Schema lists exactly these.
#pragma once

#include <string_view>

namespace voidbox::spec::detail {

using std::string_view_literals::operator""sv;

inline constexpr std::string_view kRunSpecFields[] = {"api_version"sv, "kind"sv,     "name"sv,
                                                      "sandbox"sv,     "llm"sv,      "observe"sv,
                                                      "agent"sv,       "pipeline"sv, "workflow"sv};
inline constexpr std::string_view kSandboxFields[] = {
    "mode"sv, "kernel"sv, "initramfs"sv, "memory_mb"sv,   "vcpus"sv,   "network"sv,
    "env"sv,  "mounts"sv, "image"sv,     "guest_image"sv, "snapshot"sv};
inline constexpr std::string_view kNetworkFields[] = {"enabled"sv,
                                                      "allow_domains"sv,
                                                      "allow_cidrs"sv,
                                                      "deny_cidrs"sv,
                                                      "max_connections_per_second"sv,
                                                      "max_concurrent_connections"sv,
                                                      "ports"sv};
inline constexpr std::string_view kMountFields[] = {"host"sv, "guest"sv, "mode"sv, "type"sv};
inline constexpr std::string_view kLlmFields[] = {"provider"sv, "model"sv, "base_url"sv,
                                                  "api_key_env"sv, "credential_proxy"sv};
inline constexpr std::string_view kObserveFields[] = {"traces"sv,       "metrics"sv,
                                                      "logs"sv,         "otlp_endpoint"sv,
                                                      "service_name"sv, "telemetry_buffer_size"sv};
inline constexpr std::string_view kAgentFields[] = {
    "prompt"sv, "skills"sv, "timeout_secs"sv, "output_file"sv, "messaging"sv, "mode"sv};
inline constexpr std::string_view kMessagingFields[] = {"enabled"sv, "provider_bridge"sv};
inline constexpr std::string_view kOciSkillFields[] = {"image"sv, "mount"sv, "readonly"sv};
inline constexpr std::string_view kPipelineFields[] = {"boxes"sv, "stages"sv};
inline constexpr std::string_view kBoxFields[] = {"name"sv,    "prompt"sv,       "skills"sv,
                                                  "llm"sv,     "timeout_secs"sv, "sandbox"sv,
                                                  "outputs"sv, "inputs"sv};
inline constexpr std::string_view kBoxSandboxFields[] = {"memory_mb"sv, "vcpus"sv,  "network"sv,
                                                         "env"sv,       "mounts"sv, "snapshot"sv};
inline constexpr std::string_view kBoxOutputFields[] = {"name"sv, "guest"sv};
inline constexpr std::string_view kBoxInputFields[] = {"from"sv, "guest"sv};
inline constexpr std::string_view kStageFields[] = {"type"sv, "name"sv, "boxes"sv};
inline constexpr std::string_view kWorkflowFields[] = {"steps"sv, "output_step"sv};
inline constexpr std::string_view kStepFields[] = {"name"sv, "run"sv, "depends_on"sv, "mode"sv,
                                                   "timeout_secs"sv};
inline constexpr std::string_view kStepRunFields[] = {"program"sv, "args"sv, "stdin_from"sv};

// Enumerated values.
inline constexpr std::string_view kKinds[] = {"agent"sv, "pipeline"sv, "workflow"sv, "sandbox"sv};
inline constexpr std::string_view kSandboxModes[] = {"auto"sv, "local"sv, "mock"sv};
inline constexpr std::string_view kAgentModes[] = {"task"sv, "service"sv, "interactive"sv};
inline constexpr std::string_view kStepModes[] = {"service"sv};
inline constexpr std::string_view kMountModes[] = {"ro"sv, "rw"sv};
inline constexpr std::string_view kMountTypes[] = {"9p"sv, "virtiofs"sv};
inline constexpr std::string_view kPortProtocols[] = {"tcp"sv, "udp"sv};
inline constexpr std::string_view kStageTypes[] = {"box"sv, "fan_out"sv};
inline constexpr std::string_view kSkillTypes[] = {"agent"sv, "file"sv, "remote"sv, "cli"sv,
                                                   "mcp"sv};
inline constexpr std::string_view kProviders[] = {"claude"sv, "claude-personal"sv, "codex"sv,
                                                  "ollama"sv, "lm-studio"sv,       "custom"sv};

}  // namespace voidbox::spec::detail
