#include "spec/network_syntax.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec::detail {
namespace {

constexpr std::size_t kMaxDomainLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

std::optional<unsigned> small_number(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// Dotted quad only. Leading zeros are refused: inet_aton reads "010" as
// octal 8, and a policy must not mean different things to different readers.
std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  std::uint32_t address = 0;
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    if ((dot == std::string_view::npos) != (part == 3)) return std::nullopt;
    const std::string_view octet = text.substr(0, dot);
    auto value = small_number(octet, 3);
    if (!value || *value > 255 || (octet.size() > 1 && octet.front() == '0')) return std::nullopt;
    address = (address << 8) | *value;
    if (dot != std::string_view::npos) text.remove_prefix(dot + 1);
  }
  return address;
}

std::string ipv4_text(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelLength) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

std::expected<std::string, std::string> check_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto address = parse_ipv4(text.substr(0, slash));
  if (!address) {
    if (text.find(':') != std::string_view::npos) {
      return std::unexpected(quoted(text) + " is IPv6; the guest network is IPv4 only");
    }
    return std::unexpected(quoted(text) +
                           " is not an IPv4 CIDR (expected ADDRESS/PREFIX, e.g. 192.168.0.0/16)");
  }
  unsigned prefix = 32;
  if (slash != std::string_view::npos) {
    auto parsed = small_number(text.substr(slash + 1), 2);
    if (!parsed || *parsed > 32) {
      return std::unexpected("prefix length in " + quoted(text) + " must be 0 to 32");
    }
    prefix = *parsed;
  }
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  std::string canonical = ipv4_text(*address & mask) + "/" + std::to_string(prefix);
  if ((*address & ~mask) != 0) {
    // Silently masking would hide a typo in the address or the length.
    return std::unexpected(quoted(text) + " has host bits set (did you mean " + canonical + "?)");
  }
  return canonical;
}

std::expected<std::string, std::string> check_domain_pattern(std::string_view text) {
  std::string name(text);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.size() > 1 && name.back() == '.') name.pop_back();  // the fully qualified form
  const bool wildcard = name.starts_with("*.");
  const std::string_view base = std::string_view(name).substr(wildcard ? 2 : 0);
  if (base.find('*') != std::string_view::npos) {
    return std::unexpected(quoted(text) +
                           ": '*' is allowed only as the whole first label (*.example.com)");
  }
  if (base.size() > kMaxDomainLength) {
    return std::unexpected("domain " + quoted(text) + " is longer than 253 characters");
  }
  for (std::size_t start = 0;;) {
    const std::size_t dot = base.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? base.size() : dot;
    if (!is_label(base.substr(start, end - start))) {
      return std::unexpected(quoted(text) +
                             " is not a domain name (labels of letters, digits, '-' and '_', 1 "
                             "to 63 characters each)");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (wildcard && base.find('.') == std::string_view::npos) {
    return std::unexpected(quoted(text) + " would allow a whole top-level domain");
  }
  return name;
}

std::expected<PortForward, std::string> check_port_forward(std::string_view text) {
  PortForward out;
  std::string_view rest = text;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view protocol = rest.substr(slash + 1);
    if (protocol == "udp") {
      out.protocol = PortForward::Protocol::udp;
    } else if (protocol != "tcp") {
      return std::unexpected("unknown protocol " + quoted(protocol) + " in " + quoted(text) +
                             " (expected tcp or udp)");
    }
    rest = rest.substr(0, slash);
  }
  std::vector<std::string_view> parts;
  for (std::size_t colon; (colon = rest.find(':')) != std::string_view::npos;) {
    parts.push_back(rest.substr(0, colon));
    rest.remove_prefix(colon + 1);
  }
  parts.push_back(rest);
  if (parts.size() < 2 || parts.size() > 3) {
    return std::unexpected(quoted(text) +
                           " is not a port forward (expected HOST:GUEST, HOST:GUEST/udp or "
                           "ADDRESS:HOST:GUEST)");
  }
  if (parts.size() == 3) {
    if (!parse_ipv4(parts[0])) {
      return std::unexpected("listen address " + quoted(parts[0]) + " in " + quoted(text) +
                             " is not an IPv4 address");
    }
    out.address = std::string(parts[0]);
  }
  auto host = small_number(parts[parts.size() - 2], 5);
  auto guest = small_number(parts.back(), 5);
  if (!host || *host > 65535) {
    return std::unexpected("host port in " + quoted(text) +
                           " must be 0 to 65535 (0 picks a free one)");
  }
  if (!guest || *guest == 0 || *guest > 65535) {
    return std::unexpected("guest port in " + quoted(text) + " must be 1 to 65535");
  }
  out.host_port = static_cast<std::uint16_t>(*host);
  out.guest_port = static_cast<std::uint16_t>(*guest);
  return out;
}

void check_network_policy(
    const NetworkPolicy& network, const std::string& path,
    const std::function<void(const std::string& path, std::string message)>& report) {
  using Check = std::expected<std::string, std::string> (*)(std::string_view);
  auto check_list = [&](const std::vector<std::string>& items, const std::string& list_path,
                        Check check) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = list_path + "[" + std::to_string(i) + "]";
      auto canonical = check(items[i]);
      if (!canonical) {
        report(item_path, canonical.error());
      } else if (*canonical != items[i]) {
        report(item_path, quoted(items[i]) + " must be written " + quoted(*canonical));
      }
    }
  };
  if (network.allow_domains) {
    check_list(*network.allow_domains, path + ".allow_domains", check_domain_pattern);
  }
  check_list(network.allow_cidrs, path + ".allow_cidrs", check_cidr);
  check_list(network.deny_cidrs, path + ".deny_cidrs", check_cidr);
  auto check_range = [&](std::uint64_t value, std::uint64_t maximum, const char* field) {
    if (value < 1 || value > maximum) {
      report(path + "." + field,
             "must be 1 to " + std::to_string(maximum) + ", got " + std::to_string(value));
    }
  };
  check_range(network.max_connections_per_second, kMaxConnectionsPerSecond,
              "max_connections_per_second");
  check_range(network.max_concurrent_connections, kMaxConcurrentConnections,
              "max_concurrent_connections");
  for (std::size_t i = 0; i < network.ports.size(); ++i) {
    const PortForward& port = network.ports[i];
    const std::string item_path = path + ".ports[" + std::to_string(i) + "]";
    if (port.guest_port == 0) report(item_path, "guest port must be 1 to 65535");
    if (!parse_ipv4(port.address)) {
      report(item_path, "listen address " + quoted(port.address) + " is not an IPv4 address");
    }
  }
}

}  // namespace voidbox::spec::detail

namespace voidbox::spec {

std::expected<PortForward, std::string> parse_port_forward(std::string_view text) {
  return detail::check_port_forward(text);
}

}  // namespace voidbox::spec
