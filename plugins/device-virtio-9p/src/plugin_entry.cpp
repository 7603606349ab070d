// Registers the "virtio-9p" device factory.
#include "p9_device.hpp"
#include "voidbox/sdk/plugin.hpp"
#include "voidbox/virtio/device_plugin.hpp"

namespace {

voidbox::sdk::Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_device("virtio-9p",
                              voidbox::virtio::device_vtable<voidbox::p9::NinepDevice>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("device-virtio-9p", "0.1.0",
                      "virtio-9p host directory share (9P2000.L server in the VMM)", init)
