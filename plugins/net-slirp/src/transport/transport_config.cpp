#include "transport/transport_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstring>

namespace voidbox::net {
namespace {

namespace json = boost::json;
using sdk::fail;
using sdk::Result;

// The largest limit accepted, far above any sane policy but small enough
// that the connection tracker's arithmetic cannot overflow.
constexpr std::int64_t kMaxLimit = 1'000'000;

std::unexpected<sdk::Error> invalid(const std::string& where, const std::string& what) {
  return fail(VB_ERR_INVALID_ARGUMENT, "net-slirp config: " + where + ": " + what);
}

Result<> only_keys(const json::object& object, const std::string& where,
                   std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      return invalid(where.empty() ? std::string(key) : where + "." + std::string(key),
                     "unknown key");
    }
  }
  return {};
}

Result<std::int64_t> integer(const json::value& value, const std::string& where, std::int64_t min,
                             std::int64_t max) {
  if (!value.is_int64() && !value.is_uint64()) return invalid(where, "must be an integer");
  if (value.is_uint64() && value.get_uint64() > static_cast<std::uint64_t>(max)) {
    return invalid(where, "must be at most " + std::to_string(max));
  }
  const std::int64_t n = value.is_int64() ? value.get_int64() : value.get_uint64();
  if (n < min || n > max) {
    return invalid(where, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

Result<std::string> string(const json::value& value, const std::string& where) {
  if (!value.is_string()) return invalid(where, "must be a string");
  return std::string(value.get_string());
}

Result<const json::array*> array(const json::value& value, const std::string& where) {
  if (!value.is_array()) return invalid(where, "must be an array");
  return &value.get_array();
}

bool domain_byte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// "example.com" or "*.example.com", lower-cased, without a trailing dot.
std::optional<std::string> domain_pattern(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text.ends_with('.')) text.pop_back();
  std::string_view name = text;
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return std::nullopt;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
    } else if (!domain_byte(c) || ++label > 63) {
      return std::nullopt;
    }
  }
  if (label == 0) return std::nullopt;
  return text;
}

Result<std::vector<Cidr>> cidrs(const json::value& value, const std::string& where) {
  auto list = array(value, where);
  if (!list) return std::unexpected(list.error());
  std::vector<Cidr> out;
  for (std::size_t i = 0; i < (*list)->size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    auto text = string((**list)[i], at);
    if (!text) return std::unexpected(text.error());
    auto cidr = parse_cidr(*text);
    if (!cidr) {
      return invalid(at, "\"" + *text + "\" is not an IPv4 CIDR (a.b.c.d/len, host bits clear)");
    }
    out.push_back(*cidr);
  }
  return out;
}

Result<> parse_policy(const json::value& value, PolicyConfig& policy) {
  if (!value.is_object()) return invalid("policy", "must be an object");
  const json::object& object = value.get_object();
  if (auto r = only_keys(object, "policy",
                         {"allow_domains", "allow_cidrs", "deny_cidrs",
                          "max_connections_per_second", "max_concurrent_connections"});
      !r) {
    return r;
  }
  if (const json::value* v = object.if_contains("allow_domains")) {
    auto list = array(*v, "policy.allow_domains");
    if (!list) return std::unexpected(list.error());
    std::vector<std::string> domains;
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
      const std::string at = "policy.allow_domains[" + std::to_string(i) + "]";
      auto text = string((**list)[i], at);
      if (!text) return std::unexpected(text.error());
      auto pattern = domain_pattern(*text);
      if (!pattern) {
        return invalid(at, "\"" + *text + "\" is not a domain name or *.domain pattern");
      }
      domains.push_back(std::move(*pattern));
    }
    policy.allow_domains = std::move(domains);
  }
  if (const json::value* v = object.if_contains("allow_cidrs")) {
    auto list = cidrs(*v, "policy.allow_cidrs");
    if (!list) return std::unexpected(list.error());
    policy.allow_cidrs = std::move(*list);
  }
  if (const json::value* v = object.if_contains("deny_cidrs")) {
    auto list = cidrs(*v, "policy.deny_cidrs");
    if (!list) return std::unexpected(list.error());
    policy.deny_cidrs = std::move(*list);
  }
  if (const json::value* v = object.if_contains("max_connections_per_second")) {
    auto n = integer(*v, "policy.max_connections_per_second", 1, kMaxLimit);
    if (!n) return std::unexpected(n.error());
    policy.max_connections_per_second = static_cast<std::uint32_t>(*n);
  }
  if (const json::value* v = object.if_contains("max_concurrent_connections")) {
    auto n = integer(*v, "policy.max_concurrent_connections", 1, kMaxLimit);
    if (!n) return std::unexpected(n.error());
    policy.max_concurrent_connections = static_cast<std::uint32_t>(*n);
  }
  return {};
}

Result<PortForward> parse_forward(const json::value& value, const std::string& where) {
  if (!value.is_object()) return invalid(where, "must be an object");
  const json::object& object = value.get_object();
  if (auto r = only_keys(object, where, {"protocol", "host_address", "host_port", "guest_port"});
      !r) {
    return std::unexpected(r.error());
  }
  PortForward forward;
  if (const json::value* v = object.if_contains("protocol")) {
    auto text = string(*v, where + ".protocol");
    if (!text) return std::unexpected(text.error());
    if (*text == "tcp") {
      forward.protocol = ForwardProtocol::tcp;
    } else if (*text == "udp") {
      forward.protocol = ForwardProtocol::udp;
    } else {
      return invalid(where + ".protocol", "\"" + *text + "\" is neither \"tcp\" nor \"udp\"");
    }
  }
  if (const json::value* v = object.if_contains("host_address")) {
    auto text = string(*v, where + ".host_address");
    if (!text) return std::unexpected(text.error());
    auto address = parse_ipv4(*text);
    if (!address)
      return invalid(where + ".host_address", "\"" + *text + "\" is not an IPv4 address");
    forward.host_address = *address;
  }
  if (const json::value* v = object.if_contains("host_port")) {
    auto n = integer(*v, where + ".host_port", 0, 65535);
    if (!n) return std::unexpected(n.error());
    forward.host_port = static_cast<std::uint16_t>(*n);
  }
  const json::value* guest = object.if_contains("guest_port");
  if (guest == nullptr) return invalid(where + ".guest_port", "is required");
  auto n = integer(*guest, where + ".guest_port", 1, 65535);
  if (!n) return std::unexpected(n.error());
  forward.guest_port = static_cast<std::uint16_t>(*n);
  return forward;
}

std::optional<std::uint16_t> port_number(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string_view to_string(ForwardProtocol protocol) {
  return protocol == ForwardProtocol::udp ? "udp" : "tcp";
}

std::optional<SocketAddress> parse_socket_address(std::string_view text) {
  SocketAddress out;
  out.text = std::string(text);
  if (text.starts_with('[')) {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    auto port = port_number(text.substr(close + 2));
    const std::string host(text.substr(1, close - 1));
    auto* six = reinterpret_cast<sockaddr_in6*>(&out.storage);
    if (!port || ::inet_pton(AF_INET6, host.c_str(), &six->sin6_addr) != 1) return std::nullopt;
    six->sin6_family = AF_INET6;
    six->sin6_port = htons(*port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto address = parse_ipv4(text.substr(0, colon));
  auto port = port_number(text.substr(colon + 1));
  if (!address || !port) return std::nullopt;
  auto* four = reinterpret_cast<sockaddr_in*>(&out.storage);
  four->sin_family = AF_INET;
  four->sin_port = htons(*port);
  four->sin_addr.s_addr = htonl(*address);
  out.length = sizeof(sockaddr_in);
  return out;
}

sdk::Result<TransportConfig> parse_transport_config(std::string_view text) {
  TransportConfig config;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return config;
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return fail(VB_ERR_INVALID_ARGUMENT, "net-slirp config is not JSON: " + ec.message());
  if (!root.is_object()) return fail(VB_ERR_INVALID_ARGUMENT, "net-slirp config must be an object");
  const json::object& object = root.get_object();
  if (auto r = only_keys(object, "", {"mtu", "dns_upstream", "policy", "forwards"}); !r) {
    return std::unexpected(r.error());
  }
  if (const json::value* v = object.if_contains("mtu")) {
    auto n = integer(*v, "mtu", kMinMtu, kMaxMtu);
    if (!n) return std::unexpected(n.error());
    config.mtu = static_cast<std::size_t>(*n);
  }
  if (const json::value* v = object.if_contains("dns_upstream")) {
    auto text_value = string(*v, "dns_upstream");
    if (!text_value) return std::unexpected(text_value.error());
    config.dns_upstream = parse_socket_address(*text_value);
    if (!config.dns_upstream) {
      return invalid("dns_upstream",
                     "\"" + *text_value + "\" is not host:port (a.b.c.d:53 or [v6]:53)");
    }
  }
  if (const json::value* v = object.if_contains("policy")) {
    if (auto r = parse_policy(*v, config.policy); !r) return std::unexpected(r.error());
  }
  if (const json::value* v = object.if_contains("forwards")) {
    auto list = array(*v, "forwards");
    if (!list) return std::unexpected(list.error());
    for (std::size_t i = 0; i < (*list)->size(); ++i) {
      const std::string at = "forwards[" + std::to_string(i) + "]";
      auto forward = parse_forward((**list)[i], at);
      if (!forward) return std::unexpected(forward.error());
      for (const PortForward& seen : config.forwards) {
        if (forward->host_port != 0 && seen.protocol == forward->protocol &&
            seen.host_address == forward->host_address && seen.host_port == forward->host_port) {
          return invalid(at, std::string(to_string(forward->protocol)) + " host port " +
                                 std::to_string(forward->host_port) + " is forwarded twice");
        }
      }
      if (forward->protocol == ForwardProtocol::udp) {
        config.policy.forwarded_udp_guest_ports.push_back(forward->guest_port);
      }
      config.forwards.push_back(*forward);
    }
  }
  return config;
}

}  // namespace voidbox::net
