// Which destinations the guest may reach, decided per destination address
// and port before a frame reaches libslirp.
//
// Rules, in order:
//  1. The gateway 10.0.2.2 is the host's loopback (10.0.2.2:PORT reaches
//     127.0.0.1:PORT). It is how a guest reaches local model servers, mock
//     APIs and the credential proxy, so every port is open, with or without
//     allow_domains; only a deny_cidrs entry covering it closes it (and an
//     allow_cidrs entry reopens it).
//  2. 10.0.2.3 is libslirp's DNS forwarder: port 53 only. With allow_domains
//     its UDP queries never get here (the policy resolver answers them) and
//     TCP/53 is refused, since the policy resolver speaks UDP only.
//  3. allow_cidrs: allowed, even inside a denied range.
//  4. The deny list: the built-in ranges (link-local and the metadata
//     service, private and CGNAT ranges outside the guest's own 10.0.2.0/24,
//     loopback, "this network", multicast and broadcast), the host's own
//     addresses, and deny_cidrs.
//  5. With allow_domains: only addresses learnt from allowed DNS answers,
//     while their TTL lasts.
//  6. Otherwise: allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "filter/frame_parser.hpp"
#include "filter/net_types.hpp"

namespace voidbox::net {

using Clock = std::chrono::steady_clock;

struct PolicyConfig {
  // Set (even empty): allowlist mode (rule 5 and the policy resolver).
  // Patterns as the spec stores them: "example.com" or "*.example.com".
  std::optional<std::vector<std::string>> allow_domains;
  std::vector<Cidr> allow_cidrs;
  std::vector<Cidr> deny_cidrs;      // in addition to the built-in list
  std::vector<Ipv4> host_addresses;  // the host's own interfaces, from the transport
  std::uint32_t max_connections_per_second = 50;
  std::uint32_t max_concurrent_connections = 64;
  // Guest UDP ports that host ports forward to: the guest's replies go to
  // whichever peer wrote to the forward, so they pass unchecked.
  std::vector<std::uint16_t> forwarded_udp_guest_ports;
  std::chrono::seconds tcp_idle_timeout{300};
  // Without allow_domains too, DNS queries (UDP, port 53, any address) are
  // answered by the policy resolver, every name allowed, instead of passing
  // to libslirp's forwarder (which reads the host's resolv.conf whenever it
  // likes: a file open that the confined VMM may not make).
  bool resolve_all_dns = false;
};

enum class DenyReason {
  deny_cidr,          // a deny_cidrs entry
  reserved_range,     // a built-in deny range (metadata, private, CGNAT, ...)
  host_address,       // one of the host's own addresses
  not_allowlisted,    // allowlist mode, not learnt from an allowed answer
  gateway_port,       // a port the DNS address does not serve
  rate_limit,         // max_connections_per_second
  concurrency_limit,  // max_concurrent_connections
};

std::string_view to_string(DenyReason reason);

// Exact names and "*.suffix" patterns (the suffix's strict subdomains).
class DomainAllowlist {
 public:
  explicit DomainAllowlist(std::span<const std::string> patterns);
  // `name` is lower case without a trailing dot (as parse_dns_query gives).
  bool allows(std::string_view name) const;

 private:
  std::vector<std::string> exact_;
  std::vector<std::string> suffixes_;  // ".example.com"
};

// Addresses learnt from allowed DNS answers, each until its TTL runs out.
// Bounded: a guest resolving many allowed names cannot grow it without end.
class LearntAddresses {
 public:
  static constexpr std::size_t kCapacity = 4096;
  void learn(Ipv4 address, Clock::time_point expiry);
  bool contains(Ipv4 address, Clock::time_point now) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Ipv4 address;
    Clock::time_point expiry;
  };
  std::vector<Entry> entries_;  // sorted by address
};

class EgressRules {
 public:
  explicit EgressRules(const PolicyConfig& config);
  bool allowlist_mode() const { return allowlist_mode_; }
  // nullopt: allowed. `learnt`: the address came from an allowed answer.
  std::optional<DenyReason> check(IpProtocol protocol, Ipv4 destination, std::uint16_t port,
                                  bool learnt) const;

 private:
  bool allowlist_mode_;
  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
  std::vector<Ipv4> host_;
};

}  // namespace voidbox::net
