#include "network_setup.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace voidbox::agent {
namespace {

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string errno_text(const char* what, const char* name) {
  return std::string(what) + " " + name + ": " + std::strerror(errno);
}

sockaddr ipv4_sockaddr(const char* text) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  ::inet_pton(AF_INET, text, &in.sin_addr);
  sockaddr out{};
  std::memcpy(&out, &in, sizeof in);
  return out;
}

ifreq request_for(const char* name) {
  ifreq req{};
  std::strncpy(req.ifr_name, name, IFNAMSIZ - 1);
  return req;
}

// "" on success, else what failed.
std::string set_up(int fd, const char* name) {
  ifreq req = request_for(name);
  if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0) return errno_text("SIOCGIFFLAGS", name);
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(fd, SIOCSIFFLAGS, &req) != 0) return errno_text("SIOCSIFFLAGS", name);
  return "";
}

std::string set_address(int fd, const char* name, const char* address, const char* netmask) {
  ifreq req = request_for(name);
  req.ifr_addr = ipv4_sockaddr(address);
  if (::ioctl(fd, SIOCSIFADDR, &req) != 0) return errno_text("SIOCSIFADDR", name);
  req = request_for(name);
  req.ifr_netmask = ipv4_sockaddr(netmask);
  if (::ioctl(fd, SIOCSIFNETMASK, &req) != 0) return errno_text("SIOCSIFNETMASK", name);
  return "";
}

std::string add_default_route(int fd, const char* name, const char* gateway) {
  rtentry route{};
  route.rt_dst = ipv4_sockaddr("0.0.0.0");
  route.rt_genmask = ipv4_sockaddr("0.0.0.0");
  route.rt_gateway = ipv4_sockaddr(gateway);
  route.rt_flags = RTF_UP | RTF_GATEWAY;
  std::string dev(name);
  route.rt_dev = dev.data();
  if (::ioctl(fd, SIOCADDRT, &route) != 0 && errno != EEXIST) {
    return errno_text("SIOCADDRT default via", gateway);
  }
  return "";
}

bool write_file(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// Milliseconds until /sys/class/net/NAME/carrier read 1, or -1 after the
// bound (the link stays configured; the summary says it had no carrier).
int wait_for_carrier(const char* name) {
  const std::string path = std::string("/sys/class/net/") + name + "/carrier";
  constexpr int kStepMs = 5;
  constexpr int kBoundMs = 5000;
  for (int waited = 0; waited <= kBoundMs; waited += kStepMs) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char c = 0;
    const bool up = fd >= 0 && ::read(fd, &c, 1) == 1 && c == '1';
    if (fd >= 0) ::close(fd);
    if (up) return waited;
    ::usleep(kStepMs * 1000);
  }
  return -1;
}

bool interface_exists(const char* name) {
  struct stat st {};
  return ::stat((std::string("/sys/class/net/") + name).c_str(), &st) == 0;
}

}  // namespace

NetworkSetup configure_network(const GuestNetwork& net) {
  Socket sock;
  if (sock.get() < 0) return {false, std::string("network: socket: ") + std::strerror(errno)};
  std::string problem = set_address(sock.get(), "lo", "127.0.0.1", "255.0.0.0");
  if (problem.empty()) problem = set_up(sock.get(), "lo");
  ::mkdir("/etc", 0755);
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
  if (!interface_exists(net.interface)) {
    write_file("/etc/hosts", hosts);
    if (!problem.empty()) return {false, "network: " + problem};
    return {true, "network: none (no " + std::string(net.interface) + ")"};
  }
  // Up first, then the address once the driver reports carrier: virtio-net
  // learns the link state from the device in deferred work after probe, and
  // an address set before that was seen to leave eth0 without its routes.
  if (problem.empty()) problem = set_up(sock.get(), net.interface);
  const int carrier_ms = problem.empty() ? wait_for_carrier(net.interface) : -1;
  if (problem.empty()) problem = set_address(sock.get(), net.interface, net.address, net.netmask);
  if (problem.empty()) problem = add_default_route(sock.get(), net.interface, net.gateway);
  if (problem.empty() && carrier_ms < 0) problem = std::string(net.interface) + " has no carrier";
  hosts += std::string(net.address) + "\t" + net.hostname + "\n";
  if (!write_file("/etc/hosts", hosts) ||
      !write_file("/etc/resolv.conf", std::string("nameserver ") + net.dns + "\n")) {
    problem +=
        (problem.empty() ? "" : "; ") + std::string("cannot write /etc/hosts or resolv.conf");
  }
  ::sethostname(net.hostname, std::strlen(net.hostname));
  if (!problem.empty()) return {false, "network: " + problem};
  return {true, std::string("network: ") + net.interface + " " + net.address + " via " +
                    net.gateway + ", dns " + net.dns + ", carrier after " +
                    std::to_string(carrier_ms) + " ms"};
}

}  // namespace voidbox::agent
