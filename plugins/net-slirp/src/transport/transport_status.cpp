#include "transport/transport_status.hpp"

#include <boost/json.hpp>

namespace voidbox::net {

std::string_view reason_code(DenyReason reason) {
  switch (reason) {
    case DenyReason::deny_cidr:
      return "deny_cidr";
    case DenyReason::reserved_range:
      return "reserved_range";
    case DenyReason::host_address:
      return "host_address";
    case DenyReason::not_allowlisted:
      return "not_allowlisted";
    case DenyReason::gateway_port:
      return "gateway_port";
    case DenyReason::rate_limit:
      return "rate_limit";
    case DenyReason::concurrency_limit:
      return "concurrency_limit";
  }
  return "denied";
}

std::string_view protocol_name(IpProtocol protocol) {
  switch (protocol) {
    case IpProtocol::icmp:
      return "icmp";
    case IpProtocol::tcp:
      return "tcp";
    case IpProtocol::udp:
      return "udp";
  }
  return "ip";
}

std::string denial_message(const Denial& denial) {
  std::string out =
      "denied " + std::string(protocol_name(denial.protocol)) + " " + to_string(denial.destination);
  if (denial.protocol != IpProtocol::icmp) out += ":" + std::to_string(denial.port);
  out += " (" + std::string(reason_code(denial.reason)) + ")";
  return out;
}

void TransportStatus::set_forwards(std::vector<PortForward> forwards) {
  std::lock_guard lock(mutex_);
  forwards_ = std::move(forwards);
}

void TransportStatus::publish(const FilterCounters& counters) {
  std::lock_guard lock(mutex_);
  counters_ = counters;
}

void TransportStatus::add_denial(const Denial& denial) {
  std::lock_guard lock(mutex_);
  if (denials_.size() < kMaxDenials) denials_.push_back(denial);
}

std::string TransportStatus::describe() const {
  namespace json = boost::json;
  json::object out;
  json::array forwards;
  json::object counters;
  json::array denials;
  {
    std::lock_guard lock(mutex_);
    for (const PortForward& f : forwards_) {
      forwards.push_back(json::object{{"protocol", to_string(f.protocol)},
                                      {"host_address", to_string(f.host_address)},
                                      {"host_port", f.host_port},
                                      {"guest_port", f.guest_port}});
    }
    const FilterCounters& c = counters_;
    counters = {{"frames", c.frames},
                {"passed", c.passed},
                {"dropped", c.dropped},
                {"answered", c.answered},
                {"malformed", c.malformed},
                {"unsupported", c.unsupported},
                {"tcp_refused", c.tcp_refused},
                {"udp_denied", c.udp_denied},
                {"icmp_denied", c.icmp_denied},
                {"rate_limited", c.rate_limited},
                {"concurrency_limited", c.concurrency_limited},
                {"dns_queries", c.dns_queries},
                {"dns_nxdomain", c.dns_nxdomain},
                {"dns_servfail", c.dns_servfail},
                {"dns_malformed", c.dns_malformed},
                {"denials_reported", c.denials_reported},
                {"denials_unreported", c.denials_unreported}};
    for (const Denial& d : denials_) {
      denials.push_back(json::object{{"protocol", protocol_name(d.protocol)},
                                     {"destination", to_string(d.destination)},
                                     {"port", d.port},
                                     {"reason", reason_code(d.reason)}});
    }
  }
  counters["frames_to_guest"] = frames_to_guest.load(std::memory_order_relaxed);
  counters["to_guest_drops"] = to_guest_drops.load(std::memory_order_relaxed);
  counters["queue_drops"] = queue_drops.load(std::memory_order_relaxed);
  counters["oversize_drops"] = oversize_drops.load(std::memory_order_relaxed);
  out["forwards"] = std::move(forwards);
  out["counters"] = std::move(counters);
  out["denials"] = std::move(denials);
  return json::serialize(out);
}

}  // namespace voidbox::net
