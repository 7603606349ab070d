#include "cli/verb.hpp"

namespace voidbox::cli {

int run_cancel(VerbContext&);
int run_config(VerbContext&);
int run_doctor(VerbContext&);
int run_exec(VerbContext&);
int run_image(VerbContext&);
int run_inspect(VerbContext&);
int run_logs(VerbContext&);
int run_plugins(VerbContext&);
int run_run(VerbContext&);
int run_serve(VerbContext&);
int run_status(VerbContext&);
int run_validate(VerbContext&);
int run_version(VerbContext&);

namespace {
// One line per verb. Keep alphabetical within a group.
constexpr Verb kVerbs[] = {
    {"cancel", "Cancel a run on the daemon", run_cancel},
    {"config", "Write the config template, or validate and show the merged config", run_config},
    {"doctor", "Check whether this host can boot VMs, and how to fix what is missing", run_doctor},
    {"exec", "Run one command in a fresh sandbox and return its exit status", run_exec},
    {"image", "Pull, list, unpack and remove OCI images; build rootfs disks", run_image},
    {"inspect", "Print a spec as it will run (defaults, env overrides)", run_inspect},
    {"logs", "Print a daemon run's events and output; --follow streams them", run_logs},
    {"plugins", "List plugins, what they provide, and why any failed to load", run_plugins},
    {"run", "Run a spec (workflow, sandbox); --daemon submits it to `voidbox serve`", run_run},
    {"serve", "Run the daemon: the HTTP API over a Unix socket (or TCP with a token)", run_serve},
    {"status", "Show a daemon run's state, or list the daemon's runs", run_status},
    {"validate", "Check a spec file and report every error", run_validate},
    {"version", "Print the VoidBox version", run_version},
};
}  // namespace

std::span<const Verb> all_verbs() {
  return kVerbs;
}

}  // namespace voidbox::cli
