// Printing a daemon run's events, once or following them live (server-sent
// events), for `voidbox logs` and `voidbox run --daemon`.
#pragma once

#include <string>

#include "cli/verb.hpp"
#include "daemon/daemon_client.hpp"

namespace voidbox::cli {

// Human: output chunks as they were written (stdout/stderr), other events
// as "voidbox: [type] message" on stderr; with `output_only_at_end`, as
// `voidbox run` does, stdout chunks are left out (run_exit_status prints
// the run's output instead). JSON: one event per line on stdout. Returns 0,
// or 1 with the reason printed.
int print_run_events(VerbContext& ctx, daemon::DaemonClient& client, const std::string& run_id,
                     bool follow, bool output_only_at_end = false);

// The exit status a finished run maps to: 0 succeeded, the failing step's
// exit code (else 1) when failed, 130 when cancelled; 1 if it cannot be
// read. Human output: the run's output (its output step's stdout) first.
int run_exit_status(VerbContext& ctx, daemon::DaemonClient& client, const std::string& run_id);

}  // namespace voidbox::cli
