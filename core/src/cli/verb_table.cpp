#include "cli/verb.hpp"

namespace voidbox::cli {

int run_doctor(VerbContext&);
int run_exec(VerbContext&);
int run_image(VerbContext&);
int run_inspect(VerbContext&);
int run_plugins(VerbContext&);
int run_run(VerbContext&);
int run_validate(VerbContext&);
int run_version(VerbContext&);

namespace {
// One line per verb. Keep alphabetical within a group.
constexpr Verb kVerbs[] = {
    {"doctor", "Check whether this host can boot VMs, and how to fix what is missing", run_doctor},
    {"exec", "Run one command in a fresh sandbox and return its exit status", run_exec},
    {"image", "Pull, list, unpack and remove OCI images; build rootfs disks", run_image},
    {"inspect", "Print a spec as it will run (defaults, env overrides)", run_inspect},
    {"plugins", "List plugins, what they provide, and why any failed to load", run_plugins},
    {"run", "Run a spec (workflow, sandbox)", run_run},
    {"validate", "Check a spec file and report every error", run_validate},
    {"version", "Print the VoidBox version", run_version},
};
}  // namespace

std::span<const Verb> all_verbs() {
  return kVerbs;
}

}  // namespace voidbox::cli
