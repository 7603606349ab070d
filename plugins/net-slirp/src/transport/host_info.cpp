#include "transport/host_info.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "voidbox/sdk/unique_fd.hpp"

namespace voidbox::net {

std::vector<Ipv4> host_ipv4_addresses() {
  std::vector<Ipv4> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    const Ipv4 address = ntohl(in->sin_addr.s_addr);
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  ::freeifaddrs(list);
  return out;
}

namespace {

std::string_view next_word(std::string_view& line) {
  const std::size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(start);
  const std::size_t end = std::min(line.find_first_of(" \t"), line.size());
  const std::string_view word = line.substr(0, end);
  line.remove_prefix(end);
  return word;
}

}  // namespace

std::optional<SocketAddress> first_nameserver(std::string_view resolv_conf) {
  while (!resolv_conf.empty()) {
    const std::size_t newline = std::min(resolv_conf.find('\n'), resolv_conf.size());
    std::string_view line = resolv_conf.substr(0, newline);
    resolv_conf.remove_prefix(std::min(newline + 1, resolv_conf.size()));
    if (next_word(line) != "nameserver") continue;
    const std::string address(next_word(line));
    // A scoped IPv6 address (fe80::1%eth0) cannot be written as [v6]:port.
    if (address.empty() || address.find('%') != std::string::npos) continue;
    const bool six = address.find(':') != std::string::npos;
    if (auto parsed = parse_socket_address(six ? "[" + address + "]:53" : address + ":53")) {
      return parsed;
    }
  }
  return std::nullopt;
}

std::optional<SocketAddress> system_nameserver(const std::filesystem::path& path) {
  // resolv.conf is small; a larger file is read only this far.
  constexpr std::size_t kMaxSize = 64 * 1024;
  sdk::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text(kMaxSize, '\0');
  std::size_t have = 0;
  while (have < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + have, text.size() - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  text.resize(have);
  return first_nameserver(text);
}

sdk::Result<std::uint16_t> probe_port(ForwardProtocol protocol, Ipv4 address, std::uint16_t port) {
  const std::string what =
      std::string(to_string(protocol)) + " " + to_string(address) + ":" + std::to_string(port);
  sdk::UniqueFd fd(::socket(
      AF_INET, (protocol == ForwardProtocol::udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  if (!fd) return sdk::fail_errno(VB_ERR_IO, what + ": socket");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(address);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&in), sizeof in) != 0) {
    return sdk::fail_errno(VB_ERR_IO, what);
  }
  // A TCP port is only taken for good by a listener: bind alone would let
  // two listeners of the same port pass the probe.
  if (protocol == ForwardProtocol::tcp && ::listen(fd.get(), 1) != 0) {
    return sdk::fail_errno(VB_ERR_IO, what);
  }
  socklen_t length = sizeof in;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&in), &length) != 0) {
    return sdk::fail_errno(VB_ERR_IO, what + ": getsockname");
  }
  return ntohs(in.sin_port);
}

}  // namespace voidbox::net
