// Guest networking, set up once by PID 1 after the modules are loaded: the
// loopback interface always, and eth0 when the VM has a NIC (the host gives
// one only with `network` on, so no eth0 means no network at all). Fixed
// user-mode addresses, as the host's transport expects them: no DHCP wait.
#pragma once

#include <string>

namespace voidbox::agent {

struct GuestNetwork {
  const char* interface = "eth0";
  const char* address = "10.0.2.15";
  const char* netmask = "255.255.255.0";
  const char* gateway = "10.0.2.2";  // the host's loopback, through the transport
  const char* dns = "10.0.2.3";
  const char* hostname = "voidbox";
};

struct NetworkSetup {
  bool ok = true;
  std::string summary;  // one line for the log: what was set up, or what failed
};

// Brings up lo; configures eth0 if it exists and writes /etc/resolv.conf and
// /etc/hosts.
NetworkSetup configure_network(const GuestNetwork& net = {});

}  // namespace voidbox::agent
