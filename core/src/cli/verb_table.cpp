#include "cli/verb.hpp"

namespace voidbox::cli {

int run_version(VerbContext&);

namespace {
// One line per verb. Keep alphabetical within a group.
constexpr Verb kVerbs[] = {
    {"version", "Print the VoidBox version", run_version},
};
}  // namespace

std::span<const Verb> all_verbs() { return kVerbs; }

}  // namespace voidbox::cli
