// What every `voidbox <verb>` implementation sees.
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

enum class OutputFormat { human, json };

struct GlobalOptions {
  std::string log_level = "info";
  std::string log_dir;  // empty: log to stderr
  OutputFormat output = OutputFormat::human;
};

struct VerbContext {
  const GlobalOptions& global;
  std::string_view verb;          // e.g. "run", or "image pull"
  std::vector<std::string> args;  // everything after the verb
  std::ostream& out;
  std::ostream& err;
};

struct Verb {
  std::string_view name;
  std::string_view summary;  // one line for `voidbox --help`
  int (*run)(VerbContext&);
};

// Every verb, in the order `voidbox --help` lists them.
std::span<const Verb> all_verbs();

}  // namespace voidbox::cli
