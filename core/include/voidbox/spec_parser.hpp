// Reading, validating and rendering VoidBox run specs.
//
// YAML (.yaml/.yml) and JSON (any other extension) produce the same typed
// model (voidbox/spec.hpp). Every problem found in a file is reported, not
// just the first, as a Diagnostic naming the file, line:column and the field
// path, sorted by position.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/spec.hpp"

namespace voidbox::spec {

enum class Severity { error, warning };

struct Diagnostic {
  std::string file;        // as the caller named it; "" for in-memory text
  int line = 0;            // 1-based; 0 = unknown
  int column = 0;          // 1-based; 0 = unknown
  std::string field_path;  // e.g. "workflow.steps[1].run.program"; "" for syntax errors
  std::string message;
  Severity severity = Severity::error;
};

using Diagnostics = std::vector<Diagnostic>;

// A spec that parsed and validated; warnings are things the original VoidBox
// accepted silently but that are probably mistakes (e.g. an unknown provider).
struct LoadedSpec {
  RunSpec spec;
  Diagnostics warnings;
};

enum class Format { yaml, json };

// .yaml/.yml (any case) is YAML, everything else JSON, as in the original.
Format format_for_path(std::string_view path);

// Parses and validates. On failure the Diagnostics hold every error and
// warning, sorted by position.
std::expected<LoadedSpec, Diagnostics> parse_spec(std::string_view text, Format format,
                                                  std::string_view source_name);

// Reads the file, then parse_spec(); an unreadable file is one diagnostic.
std::expected<LoadedSpec, Diagnostics> load_spec_file(const std::string& path);

// Model-level rules only (service mode, references, cycles, kind/block
// consistency), for specs built in code. parse_spec() already runs these.
Diagnostics validate_spec(const RunSpec& spec);

// "file:line:col: path: message"; warnings read "file:line:col: warning: ...".
std::string format_diagnostic(const Diagnostic& diagnostic);
// [{"file","line","column","field_path","severity","message"}, ...]
std::string diagnostics_to_json(const Diagnostics& diagnostics);

// VOIDBOX_LLM_PROVIDER / _MODEL / _BASE_URL / _API_KEY_ENV rewrite the llm
// block (creating it with provider claude if absent), as the original does at
// load time. Returns what was changed, for `inspect`.
struct EnvOverride {
  std::string variable;    // VOIDBOX_LLM_MODEL
  std::string field_path;  // llm.model
  std::string value;
};
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::vector<EnvOverride> apply_env_overrides(RunSpec& spec);  // uses the process env
std::vector<EnvOverride> apply_env_overrides(RunSpec& spec, const EnvLookup& lookup);

// The resolved spec with every field present (defaults filled in, unset
// optionals as null): pretty JSON, or the same tree as YAML for humans.
std::string spec_to_json(const RunSpec& spec);
std::string spec_to_yaml(const RunSpec& spec);

// One `sandbox.network.ports` entry as `--publish` takes it: "HOST:GUEST",
// "HOST:GUEST/udp" or "ADDRESS:HOST:GUEST"; the message says what is wrong.
std::expected<PortForward, std::string> parse_port_forward(std::string_view text);

// Short description for `validate`: "kind workflow, 3 steps".
std::string spec_summary(const RunSpec& spec);

// The fields the parser accepts in each block. `block` is the JSON Schema
// location: "" for the top level, else the name under "$defs".
struct FieldTable {
  std::string_view block;
  std::span<const std::string_view> fields;
};
std::span<const FieldTable> field_tables();

// Spellings used in files.
std::string_view to_string(Kind kind);
std::string_view to_string(SandboxMode mode);
std::string_view to_string(AgentMode mode);
std::string_view to_string(Skill::Type type);

}  // namespace voidbox::spec
