// The typed model of a VoidBox run spec (api_version v1).
//
// One model for YAML and JSON input. Field names and defaults follow the
// original VoidBox so existing specs run unchanged. The parser in
// core/src/spec fills it and records where each value came from, so later
// stages (validation, planning) can report file:line:column.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace voidbox::spec {

struct Location {
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based; 0 = unknown
};

enum class Kind { agent, pipeline, workflow, sandbox };
enum class SandboxMode { auto_, local, mock };
enum class AgentMode { task, service, interactive };

// How a host directory reaches the guest: "type: 9p" (virtio-9p, the
// default) or "type: virtiofs" (virtio-fs).
enum class MountType { ninep, virtiofs };

struct Mount {
  std::string host;
  std::string guest;
  bool readonly = true;  // "mode: ro" (default) or "rw"
  MountType type = MountType::ninep;
};

// A host port that reaches a guest port: "HOST:GUEST", "HOST:GUEST/udp",
// "ADDRESS:HOST:GUEST". Listeners bind 127.0.0.1 unless an address is given.
struct PortForward {
  enum class Protocol { tcp, udp };
  std::string address = "127.0.0.1";
  std::uint16_t host_port = 0;  // 0: the transport picks a free one
  std::uint16_t guest_port = 0;
  Protocol protocol = Protocol::tcp;
};

// `network: true|false` or the object form. Absent or false: no NIC at all.
// CIDRs are IPv4 in canonical "a.b.c.d/len" form; domains are lower case,
// without a trailing dot, either exact or "*.example.com" (any subdomain, not
// the name itself).
struct NetworkPolicy {
  bool enabled = false;
  // Set (even empty): DNS is answered by the policy resolver and only learnt
  // addresses and allow_cidrs are reachable. Unset: any address not denied.
  std::optional<std::vector<std::string>> allow_domains;
  std::vector<std::string> allow_cidrs;  // also opens the deny list
  // Added to the built-in deny list (metadata, private and CGNAT ranges
  // outside 10.0.2.0/24, the host's own addresses), never replacing it, so
  // naming one extra range cannot open the metadata service by accident.
  std::vector<std::string> deny_cidrs;
  std::uint32_t max_connections_per_second = 50;
  std::uint32_t max_concurrent_connections = 64;
  std::vector<PortForward> ports;
};

struct Sandbox {
  SandboxMode mode = SandboxMode::auto_;
  std::optional<std::string> kernel;
  std::optional<std::string> initramfs;
  std::uint32_t memory_mb = 1024;
  std::uint32_t vcpus = 1;
  NetworkPolicy network;
  // Value "" means: copy the variable from the host environment.
  std::map<std::string, std::string> env;
  std::vector<Mount> mounts;
  std::optional<std::string> image;        // OCI base rootfs
  std::optional<std::string> guest_image;  // OCI kernel+initramfs; "" disables auto-pull
  std::optional<std::string> snapshot;
};

struct Llm {
  std::string provider = "claude";  // claude, claude-personal, codex, ollama, lm-studio, custom
  std::optional<std::string> model;
  std::optional<std::string> base_url;
  std::optional<std::string> api_key_env;
  // Unset: on for providers with a key the host can inject (claude, custom
  // with api_key_env, codex with a key), off for the others.
  std::optional<bool> credential_proxy;
};

struct Observe {
  bool traces = false;
  bool metrics = false;
  bool logs = false;
  std::optional<std::string> otlp_endpoint;
  std::optional<std::string> service_name;
  std::optional<std::uint32_t> telemetry_buffer_size;
};

// A skill entry: either the string form "<type>:<value>" or the OCI object
// form {image, mount, readonly}.
struct Skill {
  enum class Type { agent, file, remote, cli, mcp, oci };
  Type type = Type::agent;
  std::string value;  // agent name, file path, owner/repo/skill, command; OCI: image ref
  std::string mount;  // OCI only
  bool readonly = true;
  Location where;
};

struct Messaging {
  bool enabled = false;
  std::optional<std::string> provider_bridge;
};

struct Agent {
  std::optional<std::string> prompt;
  std::vector<Skill> skills;
  std::optional<std::uint64_t> timeout_secs;
  std::optional<std::string> output_file;
  Messaging messaging;
  AgentMode mode = AgentMode::task;
};

struct BoxSandbox {
  std::optional<std::uint32_t> memory_mb;
  std::optional<std::uint32_t> vcpus;
  std::optional<NetworkPolicy> network;
  std::map<std::string, std::string> env;
  std::vector<Mount> mounts;
  std::optional<std::string> snapshot;
};

struct BoxOutput {
  std::string name;
  std::string guest = "/workspace/output";
};

struct BoxInput {
  std::string from;
  std::string guest = "/workspace/input";
};

struct Box {
  std::string name;
  std::string prompt;
  std::vector<Skill> skills;
  std::optional<Llm> llm;
  std::optional<std::uint64_t> timeout_secs;
  std::optional<BoxSandbox> sandbox;
  std::vector<BoxOutput> outputs;
  std::vector<BoxInput> inputs;
  Location where;
};

struct Stage {
  enum class Type { box, fan_out };
  Type type = Type::box;
  std::string name;                // Type::box
  std::vector<std::string> boxes;  // Type::fan_out
  Location where;
};

struct Pipeline {
  std::vector<Box> boxes;
  std::vector<Stage> stages;  // empty: boxes run in order
};

struct StepRun {
  std::string program;
  std::vector<std::string> args;
  std::optional<std::string> stdin_from;  // a step name
};

struct Step {
  std::string name;
  StepRun run;
  std::vector<std::string> depends_on;
  bool service = false;                       // "mode: service": no timeout
  std::optional<std::uint64_t> timeout_secs;  // unset: the run policy's default
  Location where;
};

struct Workflow {
  std::vector<Step> steps;
  std::optional<std::string> output_step;
};

struct RunSpec {
  std::string source_path;  // file the spec was read from ("" for in-memory)
  std::string api_version = "v1";
  Kind kind = Kind::agent;
  std::optional<std::string> name;
  Sandbox sandbox;
  std::optional<Llm> llm;
  std::optional<Observe> observe;
  std::optional<Agent> agent;
  std::optional<Pipeline> pipeline;
  std::optional<Workflow> workflow;
};

}  // namespace voidbox::spec
