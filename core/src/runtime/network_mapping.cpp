#include "runtime/network_mapping.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace voidbox::runtime {
namespace {

namespace json = boost::json;

const char* protocol_name(spec::PortForward::Protocol p) {
  return p == spec::PortForward::Protocol::udp ? "udp" : "tcp";
}

std::expected<std::uint16_t, std::string> free_port(const spec::PortForward& port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, port.address.c_str(), &addr.sin_addr) != 1) {
    return std::unexpected("port " + describe_port(port) + ": \"" + port.address +
                           "\" is not an IPv4 address");
  }
  const int type = port.protocol == spec::PortForward::Protocol::udp ? SOCK_DGRAM : SOCK_STREAM;
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
  socklen_t len = sizeof addr;
  std::expected<std::uint16_t, std::string> out = std::unexpected(std::string());
  // SAFETY: sockaddr_in is the sockaddr variant for AF_INET; the kernel reads
  // and writes at most `len` bytes of it.
  auto* raw = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(fd, raw, sizeof addr) != 0 || ::getsockname(fd, raw, &len) != 0) {
    out = std::unexpected("cannot find a free " + std::string(protocol_name(port.protocol)) +
                          " port on " + port.address + ": " + std::strerror(errno));
  } else {
    out = ntohs(addr.sin_port);
  }
  ::close(fd);
  return out;
}

json::array cidr_array(const std::vector<std::string>& cidrs) {
  json::array out;
  for (const auto& c : cidrs) out.emplace_back(c);
  return out;
}

}  // namespace

std::string describe_port(const spec::PortForward& port) {
  return port.address + ":" + std::to_string(port.host_port) + "->" +
         std::to_string(port.guest_port) + "/" + protocol_name(port.protocol);
}

std::expected<std::vector<spec::PortForward>, std::string> choose_host_ports(
    const std::vector<spec::PortForward>& ports) {
  std::vector<spec::PortForward> out = ports;
  for (auto& port : out) {
    if (port.host_port != 0) continue;
    auto chosen = free_port(port);
    if (!chosen) return std::unexpected(chosen.error());
    port.host_port = *chosen;
  }
  return out;
}

json::value network_vm_config(const spec::NetworkPolicy& policy,
                              const std::vector<spec::PortForward>& ports,
                              const std::optional<std::string>& dns_upstream) {
  if (!policy.enabled) return false;
  json::object egress;
  if (policy.allow_domains) {
    json::array domains;
    for (const auto& d : *policy.allow_domains) domains.emplace_back(d);
    egress["allow_domains"] = std::move(domains);
  }
  egress["allow_cidrs"] = cidr_array(policy.allow_cidrs);
  egress["deny_cidrs"] = cidr_array(policy.deny_cidrs);
  egress["max_connections_per_second"] = policy.max_connections_per_second;
  egress["max_concurrent_connections"] = policy.max_concurrent_connections;
  json::array forwards;
  for (const auto& p : ports) {
    forwards.push_back(json::object{{"protocol", protocol_name(p.protocol)},
                                    {"host_address", p.address},
                                    {"host_port", p.host_port},
                                    {"guest_port", p.guest_port}});
  }
  json::object transport{{"policy", std::move(egress)}, {"forwards", std::move(forwards)}};
  if (dns_upstream) transport["dns_upstream"] = *dns_upstream;
  return json::object{{"transport", "slirp"},
                      {"transport_config", std::move(transport)},
                      {"device_config", json::object{}}};
}

}  // namespace voidbox::runtime
