// Registers the "slirp" transport.
#include "transport/slirp_transport.hpp"
#include "voidbox/sdk/plugin.hpp"
#include "voidbox/sdk/transport.hpp"

namespace {

voidbox::sdk::Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_transport("slirp",
                                 voidbox::sdk::transport_vtable<voidbox::net::SlirpTransport>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("net-slirp", "0.1.0",
                      "user-mode guest networking over libslirp, behind an egress policy", init)
