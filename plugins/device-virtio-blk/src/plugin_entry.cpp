// Registers the "virtio-blk" device factory.
#include "blk_device.hpp"
#include "voidbox/sdk/plugin.hpp"
#include "voidbox/virtio/device_plugin.hpp"

namespace {

voidbox::sdk::Result<> init(voidbox::sdk::Registrar& registrar) {
  return registrar.add_device("virtio-blk",
                              voidbox::virtio::device_vtable<voidbox::blk::BlkDevice>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("device-virtio-blk", "0.1.0",
                      "virtio-blk device backed by a host file (read-only or read-write)", init)
