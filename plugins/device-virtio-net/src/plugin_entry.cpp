// Registers the "virtio-net" device factory.
#include "net_device.hpp"
#include "voidbox/sdk/plugin.hpp"
#include "voidbox/virtio/device_plugin.hpp"

namespace {

voidbox::sdk::Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_device("virtio-net",
                              voidbox::virtio::device_vtable<voidbox::net::NetDevice>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("device-virtio-net", "0.1.0",
                      "virtio-net device: MAC, MTU, mergeable rx buffers, checksum and TSO offload",
                      init)
