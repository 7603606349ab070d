// `--network` and `--publish`, shared by `run` and `exec`, and how the ports a
// sandbox published are shown.
#pragma once

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <ostream>
#include <vector>

#include "voidbox/spec.hpp"

namespace voidbox::cli {

void add_network_options(boost::program_options::options_description& options);

// Applies the flags to `policy`: --network turns networking on, each
// --publish adds a forward (and turns networking on). False, with the
// message written to `err`, when a --publish value is malformed.
bool apply_network_options(const boost::program_options::variables_map& vm,
                           spec::NetworkPolicy& policy, std::ostream& err);

// [{"protocol","host_address","host_port","guest_port"}]
boost::json::array published_ports_json(const std::vector<spec::PortForward>& ports);

// "voidbox: published 127.0.0.1:41234->8080/tcp" lines.
void print_published_ports(std::ostream& err, const std::vector<spec::PortForward>& ports);

}  // namespace voidbox::cli
