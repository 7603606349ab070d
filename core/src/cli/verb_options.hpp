// Option parsing shared by verbs with subcommands (`image pull`, `plugins list`).
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/verb.hpp"

namespace voidbox::cli {

// Adds --help to `options`, then parses `args` into `vm`. Prints the help or
// the usage error itself and returns the exit code to stop with (0 after
// --help, 2 on a usage error), or nullopt to go on.
std::optional<int> parse_verb_options(
    VerbContext& ctx, const std::vector<std::string>& args, const std::string& usage,
    boost::program_options::options_description& options,
    const boost::program_options::positional_options_description& positional,
    boost::program_options::variables_map& vm);

}  // namespace voidbox::cli
