// Argument handling and diagnostics output shared by `validate` and `inspect`.
#pragma once

#include <optional>
#include <string>

#include "cli/verb.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::cli {

struct SpecVerbArgs {
  std::string file;
  OutputFormat output = OutputFormat::human;
};

// Parses `--file F [--output human|json]`; prints help or usage itself.
// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> parse_spec_verb_args(VerbContext& ctx, std::string_view description,
                                        SpecVerbArgs& args);

void print_diagnostics(std::ostream& err, const spec::Diagnostics& diagnostics);

// "2 errors, 1 warning"
std::string count_diagnostics(const spec::Diagnostics& diagnostics);

}  // namespace voidbox::cli
