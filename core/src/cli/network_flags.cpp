#include "cli/network_flags.hpp"

#include <string>

#include "runtime/network_mapping.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;

const char* protocol_name(spec::PortForward::Protocol p) {
  return p == spec::PortForward::Protocol::udp ? "udp" : "tcp";
}

}  // namespace

void add_network_options(po::options_description& options) {
  options.add_options()("network", po::bool_switch(),
                        "give the guest a NIC (user-mode networking; VM backends)")(
      "publish,p", po::value<std::vector<std::string>>()->composing(),
      "[ADDRESS:]HOST:GUEST[/udp]: forward a host port to a guest port (repeatable; HOST 0 "
      "picks a free port; ADDRESS defaults to 127.0.0.1); implies --network");
}

bool apply_network_options(const po::variables_map& vm, spec::NetworkPolicy& policy,
                           std::ostream& err) {
  if (vm.count("network") && vm["network"].as<bool>()) policy.enabled = true;
  if (!vm.count("publish")) return true;
  for (const auto& text : vm["publish"].as<std::vector<std::string>>()) {
    auto port = spec::parse_port_forward(text);
    if (!port) {
      err << "--publish " << text << ": " << port.error() << "\n";
      return false;
    }
    policy.ports.push_back(*port);
  }
  policy.enabled = true;
  return true;
}

boost::json::array published_ports_json(const std::vector<spec::PortForward>& ports) {
  boost::json::array out;
  for (const auto& p : ports) {
    out.push_back(boost::json::object{{"protocol", protocol_name(p.protocol)},
                                      {"host_address", p.address},
                                      {"host_port", p.host_port},
                                      {"guest_port", p.guest_port}});
  }
  return out;
}

void print_published_ports(std::ostream& err, const std::vector<spec::PortForward>& ports) {
  for (const auto& p : ports) err << "voidbox: published " << runtime::describe_port(p) << "\n";
  err << std::flush;
}

}  // namespace voidbox::cli
