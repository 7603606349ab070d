/*
 * Transport plugins (kind VB_KIND_TRANSPORT): move a network device's
 * Ethernet frames to the host world (libslirp user-mode networking; later
 * passt's socket mode, a Unix socket, ...).
 *
 * A network device and a transport never see each other's types: each side
 * exposes a vb_frame_port, a "send one frame to me" callback, and the host
 * (the VMM) wires the two together:
 *
 *   dev_vt->create(dev_cfg, &dev)                 device exists, not running
 *   to_guest = dev_vt->frame_port(dev)            frames for the guest go here
 *   tr_vt->create(tr_cfg, to_guest, &tr)          transport holds to_guest
 *   dev_vt->set_peer(dev, tr_vt->port(tr))        guest frames go to the transport
 *   tr_vt->start(tr)                              transport threads run
 *   ... the VM runs ...
 *   dev_vt->set_peer(dev, NULL)                   device stops calling the transport
 *   tr_vt->destroy(tr)                            transport stops calling the device
 *   dev_vt->destroy(dev)
 *
 * Frames are whole Ethernet frames (destination MAC first, no virtio-net
 * header, no FCS), checksums complete, no longer than the MTU both sides were
 * configured with (the device's `mtu`, 1500 by default) and never longer than
 * VB_FRAME_MAX. Segmentation and checksum offloads are the device's business:
 * what crosses a port is what a real wire would carry.
 *
 * The rules of plugin_abi.h hold (no C++ across, struct_size first, borrowed
 * inputs).
 */
#ifndef VOIDBOX_ABI_TRANSPORT_H
#define VOIDBOX_ABI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "voidbox/plugin_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest frame any port accepts (a 65535-byte MTU plus the Ethernet
 * header and one VLAN tag); a receiver drops longer ones. */
#define VB_FRAME_MAX 65553u

/*
 * One direction of a frame link. `send` is thread-safe and never blocks for
 * long: a receiver that cannot take the frame now (rings full, backlog at its
 * bound) drops it and returns VB_ERR_IO, as a congested wire would. The frame
 * is borrowed for the call. A port stays valid as long as the object that
 * returned it lives (see each function below).
 */
typedef struct vb_frame_port {
  size_t struct_size;
  void* ctx;
  vb_status (*send)(void* ctx, const uint8_t* frame, size_t len);
} vb_frame_port;

typedef struct vb_transport vb_transport; /* opaque, plugin-owned */

typedef struct vb_transport_vtable {
  size_t struct_size;
  /*
   * Creates a transport from its JSON config (the plugin documents its keys;
   * net-slirp: egress policy, port forwards, DNS upstream). `to_guest` is
   * borrowed until destroy returns; the transport calls it from threads of
   * its own, only between start and destroy. Nothing runs yet.
   */
  vb_status (*create)(const char* config_json, size_t config_len, const vb_frame_port* to_guest,
                      vb_transport** out, vb_error* error);
  /* Where the device sends guest frames. Valid until destroy; thread-safe. */
  const vb_frame_port* (*port)(vb_transport* transport);
  /* Starts moving frames (binds forwarded ports, starts its threads). */
  vb_status (*start)(vb_transport* transport, vb_error* error);
  /*
   * A JSON object describing the running transport, written into `buf`
   * (NUL-terminated when it fits). Returns the length without the NUL; when
   * that is >= capacity nothing useful was written and the caller retries
   * with a bigger buffer. Thread-safe. net-slirp reports
   * {"forwards":[{"protocol","host_address","host_port","guest_port"}],
   *  "counters":{...}, "denials":[...]}.
   */
  size_t (*describe)(vb_transport* transport, char* buf, size_t capacity);
  /* Stops every thread; after return `to_guest` is never called again. */
  void (*destroy)(vb_transport* transport);
} vb_transport_vtable;

#ifdef __cplusplus
}
#endif

#endif /* VOIDBOX_ABI_TRANSPORT_H */
