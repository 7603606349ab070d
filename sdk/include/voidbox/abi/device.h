/*
 * Device plugins (kind VB_KIND_DEVICE): a virtio device model in a .so.
 *
 * The host (the VMM) owns the transport (virtio-mmio registers, feature and
 * status handshake, interrupt line). The plugin owns the device model and runs
 * its own virtqueues directly over guest RAM: at activate the host passes the
 * guest memory regions (host-mapped) and each queue's {size, desc, avail, used}
 * as the driver programmed them. The SDK's C++ Virtqueue (voidbox_virtio
 * static library) does the ring work inside the plugin.
 *
 * The rules of plugin_abi.h hold (no C++ across, struct_size first, borrowed
 * inputs). In addition:
 *  - All calls on one vb_device are serialised by the host, except that the
 *    plugin's own threads may call vb_device_host.signal at any time between
 *    activate and the return of reset/destroy.
 *  - Which host thread makes a call is the host's choice: voidbox-vmm calls
 *    queue_notify from a thread of its own per device (woken by a KVM
 *    ioeventfd), or from the vCPU thread that wrote QueueNotify when the
 *    host lacks ioeventfd/irqfd. queue_notify may therefore do blocking I/O
 *    without stalling a vCPU on the first path; it still holds off the
 *    device's other calls (config reads, reset) while it runs.
 *  - Guest memory is hostile and may change under the plugin at any time.
 *  - A device that the guest breaks calls signal(VB_DEVICE_SIGNAL_NEEDS_RESET)
 *    and stops processing; it never aborts the process.
 *
 * Registration: register_factory(ctx, VB_KIND_DEVICE, "virtio-blk", &vtable);
 * the name matches `devices[].type` in the VM config.
 */
#ifndef VOIDBOX_ABI_DEVICE_H
#define VOIDBOX_ABI_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "voidbox/abi/transport.h"
#include "voidbox/plugin_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vb_device vb_device; /* opaque, plugin-owned */

/* One host-mapped piece of guest RAM. */
typedef struct vb_guest_memory_region {
  uint64_t guest_phys_addr;
  uint64_t size;
  void* host_addr; /* valid until the device is reset or destroyed */
} vb_guest_memory_region;

/* A queue as the driver programmed it (virtio-mmio QueueNum/Desc/Avail/Used). */
typedef struct vb_queue_config {
  size_t struct_size;
  uint16_t size; /* 0 = the driver did not set this queue up */
  uint8_t ready; /* QueueReady */
  uint8_t reserved;
  uint64_t desc_addr;
  uint64_t avail_addr;
  uint64_t used_addr;
} vb_queue_config;

typedef enum vb_device_signal {
  VB_DEVICE_SIGNAL_USED_QUEUE = 1, /* `queue` has new used entries */
  VB_DEVICE_SIGNAL_CONFIG_CHANGE = 2,
  VB_DEVICE_SIGNAL_NEEDS_RESET = 3 /* the guest broke the device */
} vb_device_signal;

/* Host callbacks, borrowed by the plugin from activate until reset/destroy. */
typedef struct vb_device_host {
  size_t struct_size;
  void* ctx;
  /* Thread-safe. `kind` is a vb_device_signal; `queue` only for USED_QUEUE. */
  void (*signal)(void* ctx, uint32_t kind, uint32_t queue);
} vb_device_host;

typedef struct vb_device_activation {
  size_t struct_size;
  const vb_guest_memory_region* regions; /* borrowed: copy during activate */
  size_t num_regions;
  const vb_queue_config* queues; /* one per queue, borrowed: copy */
  size_t num_queues;
  uint64_t driver_features;   /* negotiated */
  const vb_device_host* host; /* the pointer stays valid until reset/destroy */
} vb_device_activation;

typedef struct vb_device_vtable {
  size_t struct_size;
  /* Creates a device from its JSON config (`devices[].config`). */
  vb_status (*create)(const char* config_json, size_t config_len, vb_device** out, vb_error* error);
  uint32_t (*device_type)(const vb_device* device); /* virtio device id */
  uint32_t (*num_queues)(const vb_device* device);
  uint16_t (*queue_max_size)(const vb_device* device, uint32_t queue);
  uint64_t (*features)(const vb_device* device); /* offered */
  /* The negotiated subset, when the driver sets FEATURES_OK. */
  void (*ack_features)(vb_device* device, uint64_t features);
  uint32_t (*config_size)(const vb_device* device);
  /* Access inside [0, config_size) only; the host checks bounds first. */
  vb_status (*config_read)(vb_device* device, uint32_t offset, void* data, size_t len);
  vb_status (*config_write)(vb_device* device, uint32_t offset, const void* data, size_t len);
  /* DRIVER_OK: start processing. Failure leaves the device inactive. */
  vb_status (*activate)(vb_device* device, const vb_device_activation* activation, vb_error* error);
  void (*queue_notify)(vb_device* device, uint32_t queue);
  /* Stop processing and forget the activation; returns once no plugin thread
   * touches guest memory or calls signal any more. */
  void (*reset)(vb_device* device);
  void (*destroy)(vb_device* device);

  /* ABI 1.2: network devices (voidbox/abi/transport.h). A vtable whose
   * struct_size ends before these, or whose entries are NULL, is not a
   * network device. */

  /* Where frames for the guest go; valid until destroy. Thread-safe to call
   * once the device exists, even before activate (frames that arrive while the
   * driver is not ready are dropped). NULL for devices without frames. */
  const vb_frame_port* (*frame_port)(vb_device* device);
  /* Where the device sends the guest's frames. `peer` is borrowed until the
   * next set_peer call or destroy. set_peer(device, NULL) returns only once no
   * device thread is inside peer->send any more. */
  void (*set_peer)(vb_device* device, const vb_frame_port* peer);
} vb_device_vtable;

#ifdef __cplusplus
}
#endif

#endif /* VOIDBOX_ABI_DEVICE_H */
