// Helpers shared by the spec tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec::testing {

// Every diagnostic of a parse, formatted as the CLI prints it; empty when the
// spec is valid and has no warnings.
inline std::vector<std::string> messages(std::string_view text, Format format = Format::yaml,
                                         std::string_view name = "spec.yaml") {
  auto result = parse_spec(text, format, name);
  const Diagnostics& diagnostics = result ? result->warnings : result.error();
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(format_diagnostic(d));
  return out;
}

inline RunSpec parse_ok(std::string_view text, Format format = Format::yaml) {
  auto result = parse_spec(text, format, format == Format::yaml ? "spec.yaml" : "spec.json");
  if (!result) {
    std::string all;
    for (const Diagnostic& d : result.error()) all += format_diagnostic(d) + "\n";
    throw std::runtime_error("unexpected errors:\n" + all);
  }
  return std::move(result->spec);
}

inline std::filesystem::path source_dir() {
  const char* dir = std::getenv("VOIDBOX_SOURCE_DIR");
  return dir ? std::filesystem::path(dir) : std::filesystem::path(VOIDBOX_TEST_SOURCE_DIR);
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace voidbox::spec::testing
