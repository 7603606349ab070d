// Typed reading of a yaml-cpp node tree with diagnostics.
//
// Both YAML and JSON specs end up as a yaml-cpp tree (see parse_spec.cpp for
// why), so one reader serves both; only the rule for "is this scalar a
// string" differs, because JSON's types are explicit.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec::detail {

// Where each field was written (the key's position), by field path, and which
// fields failed to parse, so validation can point at the right place and
// avoid follow-on errors about values it never saw.
struct Provenance {
  std::map<std::string, Location> where;
  std::set<std::string> failed;

  // The location of `path`, else of its nearest recorded parent.
  Location find(std::string path) const;
  bool has_failed(const std::string& path) const { return failed.contains(path); }
};

class Reader {
 public:
  Reader(std::string file, Format format) : file_(std::move(file)), format_(format) {}

  Diagnostics& diagnostics() { return diagnostics_; }
  Provenance& provenance() { return provenance_; }
  const std::string& file() const { return file_; }

  static Location location_of(const YAML::Node& node);
  void error(Location at, const std::string& path, std::string message);
  void error(const YAML::Node& at, const std::string& path, std::string message);
  void warning(Location at, const std::string& path, std::string message);

  using FieldVisitor =
      std::function<void(std::string_view key, const YAML::Node& value, const std::string& path)>;

  // Walks a mapping: unknown and duplicate keys are errors, known keys are
  // recorded in the provenance, null values of optional fields are treated as
  // absent, and missing `required` fields are reported. Returns false if the
  // node is not a mapping.
  bool fields(const YAML::Node& node, const std::string& path,
              std::span<const std::string_view> allowed,
              std::initializer_list<std::string_view> required, const FieldVisitor& visit);

  // Scalars. Each reports a wrong type at the value and returns nullopt.
  std::optional<std::string> string(const YAML::Node& node, const std::string& path);
  std::optional<std::uint64_t> integer(
      const YAML::Node& node, const std::string& path, std::uint64_t minimum = 0,
      std::uint64_t maximum = std::numeric_limits<std::uint64_t>::max());
  std::optional<bool> boolean(const YAML::Node& node, const std::string& path);
  // Whether boolean() would accept `node`, without reporting anything.
  bool is_boolean(const YAML::Node& node) const;
  // A string that must be one of `values`; reports the alternatives and a
  // did-you-mean otherwise.
  std::optional<std::string> choice(const YAML::Node& node, const std::string& path,
                                    std::span<const std::string_view> values,
                                    bool ignore_case = false);

  // Collections. `visit` gets each element with its path ("x[2]").
  bool sequence(const YAML::Node& node, const std::string& path,
                const std::function<void(const YAML::Node& item, const std::string& path)>& visit);
  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path);
  std::map<std::string, std::string> env_map(const YAML::Node& node, const std::string& path);

  // "a mapping", "a sequence", "null", "string \"x\"", "5"
  std::string describe(const YAML::Node& node) const;

 private:
  void mark_failed(const std::string& path) { provenance_.failed.insert(path); }
  bool is_quoted(const YAML::Node& node) const;

  std::string file_;
  Format format_;
  Diagnostics diagnostics_;
  Provenance provenance_;
};

template <typename T>
void assign(T& target, std::optional<T>&& value) {
  if (value) target = std::move(*value);
}
template <typename T>
void assign(std::optional<T>& target, std::optional<T>&& value) {
  if (value) target = std::move(value);
}

// Block parsers, one per block of the format (parse_*_blocks.cpp).
void parse_sandbox(Reader& r, const YAML::Node& node, const std::string& path, Sandbox& out);
void parse_llm(Reader& r, const YAML::Node& node, const std::string& path, Llm& out);
void parse_observe(Reader& r, const YAML::Node& node, const std::string& path, Observe& out);
void parse_agent(Reader& r, const YAML::Node& node, const std::string& path, Agent& out);
void parse_skills(Reader& r, const YAML::Node& node, const std::string& path,
                  std::vector<Skill>& out);
void parse_network(Reader& r, const YAML::Node& node, const std::string& path, NetworkPolicy& out);
void parse_mounts(Reader& r, const YAML::Node& node, const std::string& path,
                  std::vector<Mount>& out);
void parse_pipeline(Reader& r, const YAML::Node& node, const std::string& path, Pipeline& out);
void parse_workflow(Reader& r, const YAML::Node& node, const std::string& path, Workflow& out);

// Guest paths must be absolute; reports and returns false otherwise.
bool check_guest_path(Reader& r, const YAML::Node& node, const std::string& path,
                      const std::string& value);

// Model-level rules, with positions from the provenance when there is one.
Diagnostics validate_with(const RunSpec& spec, const Provenance& provenance,
                          const std::string& file);

void sort_by_position(Diagnostics& diagnostics);

}  // namespace voidbox::spec::detail
