// Registers the "virtiofs" device factory.
#include "virtiofs_device.hpp"
#include "voidbox/sdk/plugin.hpp"
#include "voidbox/virtio/device_plugin.hpp"

namespace {

voidbox::sdk::Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_device("virtiofs",
                              voidbox::virtio::device_vtable<voidbox::virtiofs::VirtiofsDevice>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("device-virtiofs", "0.1.0",
                      "virtio-fs host directory share (FUSE server in the VMM)", init)
