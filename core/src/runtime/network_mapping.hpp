// From a sandbox's network policy to what the KVM backend's VM config says
// about the NIC (sdk/docs/vm-config.md, `network`): the transport plugin to
// use and its config (plugins/net-slirp/README.md).
#pragma once

#include <boost/json.hpp>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/spec.hpp"

namespace voidbox::runtime {

// Gives every forward with host port 0 a free port on its address, so the
// runtime knows (and can print) every published port before the VM starts.
// Picking then binding later can race with another program taking the port;
// the transport's start then fails naming it.
std::expected<std::vector<spec::PortForward>, std::string> choose_host_ports(
    const std::vector<spec::PortForward>& ports);

// The VM config's `network` value: false, or the transport object.
boost::json::value network_vm_config(const spec::NetworkPolicy& policy,
                                     const std::vector<spec::PortForward>& ports,
                                     const std::optional<std::string>& dns_upstream);

// "127.0.0.1:8080->80/tcp", as `docker ps` prints them.
std::string describe_port(const spec::PortForward& port);

}  // namespace voidbox::runtime
