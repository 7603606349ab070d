// How the client verbs (status, logs, cancel, run --daemon) find the
// daemon: --daemon-socket / --daemon-url (or the original's --daemon URL),
// else VOIDBOX_DAEMON_SOCKET / VOIDBOX_DAEMON_URL, else the config's
// daemon_url, else the default socket path.
#pragma once

#include <boost/program_options.hpp>
#include <expected>
#include <memory>
#include <string>

#include "daemon/daemon_client.hpp"

namespace voidbox::cli {

void add_daemon_options(boost::program_options::options_description& options);

std::expected<std::unique_ptr<daemon::DaemonClient>, std::string> daemon_client(
    const boost::program_options::variables_map& vm);

// The error object's message from a failed response, or its raw body.
std::string error_message(const daemon::ClientResponse& response);

}  // namespace voidbox::cli
