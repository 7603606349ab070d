// Registers the "virtio-blk" device factory.
#include <cstdio>

#include "blk_device.hpp"
#include "voidbox/abi/device.h"
#include "voidbox/plugin_abi.h"
#include "voidbox/virtio/device_plugin.hpp"

namespace {

vb_status init(const vb_registrar* registrar, vb_error* error) {
  const vb_status s =
      registrar->register_factory(registrar->host_ctx, VB_KIND_DEVICE, "virtio-blk",
                                  voidbox::virtio::device_vtable<voidbox::blk::BlkDevice>());
  if (s != VB_OK && error != nullptr && error->message != nullptr && error->capacity > 0) {
    std::snprintf(error->message, error->capacity,
                  "device name 'virtio-blk' is already registered");
  }
  return s;
}

void shutdown() {}

constexpr vb_plugin_descriptor kDescriptor = {
    sizeof(vb_plugin_descriptor),
    VOIDBOX_ABI_MAJOR,
    VOIDBOX_ABI_MINOR,
    "device-virtio-blk",
    "0.1.0",
    "virtio-blk device backed by a host file (read-only or read-write)",
    init,
    shutdown,
};

}  // namespace

extern "C" VOIDBOX_PLUGIN_EXPORT const vb_plugin_descriptor* voidbox_plugin_entry(void) {
  return &kDescriptor;
}
