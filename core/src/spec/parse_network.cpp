// The network block: `true|false`, or the egress policy object.
//
// Every value is checked here, where the YAML node still gives the position,
// and stored in canonical text form, so the transport that enforces the
// policy reads strings already proven well formed.
#include <map>

#include "spec/field_tables.hpp"
#include "spec/network_syntax.hpp"
#include "spec/reader.hpp"

namespace voidbox::spec::detail {
namespace {

template <typename T>
std::optional<T> checked(Reader& r, const YAML::Node& node, const std::string& path,
                         std::expected<T, std::string> (*check)(std::string_view)) {
  auto text = r.string(node, path);
  if (!text) return std::nullopt;
  auto value = check(*text);
  if (!value) {
    r.error(node, path, value.error());
    return std::nullopt;
  }
  return std::move(*value);
}

std::vector<std::string> string_list(
    Reader& r, const YAML::Node& node, const std::string& path,
    std::expected<std::string, std::string> (*check)(std::string_view)) {
  std::vector<std::string> out;
  r.sequence(node, path, [&](const YAML::Node& item, const std::string& item_path) {
    if (auto value = checked(r, item, item_path, check)) out.push_back(std::move(*value));
  });
  return out;
}

std::string forward_key(const PortForward& p) {
  return p.address + ":" + std::to_string(p.host_port) +
         (p.protocol == PortForward::Protocol::udp ? "/udp" : "/tcp");
}

void parse_ports(Reader& r, const YAML::Node& node, const std::string& path,
                 std::vector<PortForward>& out) {
  std::map<std::string, Location> first;
  r.sequence(node, path, [&](const YAML::Node& item, const std::string& item_path) {
    auto port = checked(r, item, item_path, check_port_forward);
    if (!port) return;
    if (port->host_port != 0) {  // port 0 is a fresh port each time
      auto [it, inserted] = first.emplace(forward_key(*port), Reader::location_of(item));
      if (!inserted) {
        r.error(item, item_path,
                "host port " + forward_key(*port) + " is already forwarded (at " +
                    std::to_string(it->second.line) + ":" + std::to_string(it->second.column) +
                    ")");
        return;
      }
    }
    out.push_back(*port);
  });
}

}  // namespace

void parse_network(Reader& r, const YAML::Node& node, const std::string& path, NetworkPolicy& out) {
  if (!node.IsMap()) {
    if (r.is_boolean(node)) {
      assign(out.enabled, r.boolean(node, path));
    } else {
      r.error(node, path, "expected true, false or a mapping, got " + r.describe(node));
    }
    return;
  }
  out.enabled = true;  // the object form means "a network, with this policy"
  std::optional<Location> disabled_at;
  r.fields(node, path, kNetworkFields, {},
           [&](std::string_view key, const YAML::Node& value, const std::string& field) {
             if (key == "enabled") {
               assign(out.enabled, r.boolean(value, field));
               if (!out.enabled) disabled_at = Reader::location_of(value);
             } else if (key == "allow_domains") {
               out.allow_domains = string_list(r, value, field, check_domain_pattern);
             } else if (key == "allow_cidrs") {
               out.allow_cidrs = string_list(r, value, field, check_cidr);
             } else if (key == "deny_cidrs") {
               out.deny_cidrs = string_list(r, value, field, check_cidr);
             } else if (key == "max_connections_per_second") {
               if (auto n = r.integer(value, field, 1, kMaxConnectionsPerSecond)) {
                 out.max_connections_per_second = static_cast<std::uint32_t>(*n);
               }
             } else if (key == "max_concurrent_connections") {
               if (auto n = r.integer(value, field, 1, kMaxConcurrentConnections)) {
                 out.max_concurrent_connections = static_cast<std::uint32_t>(*n);
               }
             } else if (key == "ports") {
               parse_ports(r, value, field, out.ports);
             }
           });
  const bool has_policy = out.allow_domains || !out.allow_cidrs.empty() ||
                          !out.deny_cidrs.empty() || !out.ports.empty();
  if (disabled_at && has_policy) {
    r.warning(*disabled_at, path + ".enabled",
              "the guest has no network, so the rest of this policy has no effect");
  }
}

}  // namespace voidbox::spec::detail
