/*
 * The VoidBox plugin boundary: a pure C ABI.
 *
 * A plugin is a shared library exporting one symbol, `voidbox_plugin_entry`,
 * that returns a pointer to a static descriptor. The host checks the
 * descriptor's ABI version before calling anything else, then calls `init`
 * with a registrar through which the plugin registers one factory (a vtable
 * of plain C function pointers) per thing it provides.
 *
 * Rules that hold for every type in this file:
 *  - No C++ types, exceptions or RTTI cross this boundary. A plugin catches
 *    everything at its edge and reports failures as a vb_status plus a
 *    message written into a caller-provided vb_error.
 *  - Configuration crosses as JSON bytes (pointer + length, not necessarily
 *    NUL-terminated). The callee copies what it wants to keep.
 *  - Every struct starts with `struct_size` so either side can grow it at the
 *    end within one ABI major: a reader only touches fields that lie inside
 *    the struct_size the writer declared.
 *  - Ownership: strings and buffers passed *into* a call are borrowed for the
 *    duration of that call. Handles returned by a `create`-style function are
 *    owned by the caller until passed to the matching `destroy`. File
 *    descriptors returned through an out-parameter are owned by the caller.
 *  - Threading: a factory vtable may be used from any thread. An object
 *    handle (vm, device, exporter instance) is used by one thread at a time
 *    unless its vtable says otherwise.
 */
#ifndef VOIDBOX_PLUGIN_ABI_H
#define VOIDBOX_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VOIDBOX_ABI_MAJOR 1u
#define VOIDBOX_ABI_MINOR 2u
/*
 * Fingerprints of the ABI headers (this file and voidbox/abi/ *.h, comments
 * and whitespace ignored), oldest first, one per released ABI version.
 * sdk/tests/abi_fingerprint_test.cpp recomputes it and fails when the
 * headers changed: bump VOIDBOX_ABI_MINOR (fields added at the end of a
 * struct, new kinds or enum values) or VOIDBOX_ABI_MAJOR (anything else),
 * then APPEND ", <major>.<minor>=<hash>" with the hash the test prints. An
 * entry that shipped is never edited.
 */
#define VOIDBOX_ABI_FINGERPRINTS "1.0=d66fcb04ca3f8da0, 1.1=6c01c41dbef04ac6, 1.2=de1d25ec828a07b9"

#if defined(__GNUC__)
#define VOIDBOX_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define VOIDBOX_PLUGIN_EXPORT
#endif

typedef enum vb_status {
  VB_OK = 0,
  VB_ERR_INVALID_ARGUMENT = 1,
  VB_ERR_UNSUPPORTED = 2, /* this host cannot do it (no KVM, wrong kernel) */
  VB_ERR_NOT_FOUND = 3,
  VB_ERR_IO = 4,
  VB_ERR_TIMEOUT = 5,
  VB_ERR_GUEST = 6, /* the guest misbehaved or crashed */
  VB_ERR_INTERNAL = 7
} vb_status;

/* Caller-owned buffer a callee writes a NUL-terminated message into. */
typedef struct vb_error {
  size_t struct_size;
  char* message; /* caller-owned, capacity bytes */
  size_t capacity;
} vb_error;

typedef enum vb_kind {
  VB_KIND_BACKEND = 1,
  VB_KIND_DEVICE = 2,
  VB_KIND_TRANSPORT = 3,
  VB_KIND_SKILL = 4,
  VB_KIND_EXPORTER = 5,
  VB_KIND_IMAGE_SOURCE = 6
} vb_kind;

typedef enum vb_log_level {
  VB_LOG_TRACE = 0,
  VB_LOG_DEBUG = 1,
  VB_LOG_INFO = 2,
  VB_LOG_WARN = 3,
  VB_LOG_ERROR = 4
} vb_log_level;

/*
 * Passed by the host to `init`. Valid only during `init`, except `log` and
 * `host_ctx`, which stay valid until `shutdown` returns.
 */
typedef struct vb_registrar {
  size_t struct_size;
  void* host_ctx;
  uint32_t host_abi_major;
  uint32_t host_abi_minor;
  /*
   * Registers a factory. `vtable` points to a kind-specific struct (below)
   * with static storage duration in the plugin; the host keeps the pointer.
   * `name` is copied. Returns VB_OK, or an error if the name is taken.
   */
  vb_status (*register_factory)(void* host_ctx, vb_kind kind, const char* name, const void* vtable);
  /* Thread-safe; message is borrowed. */
  void (*log)(void* host_ctx, vb_log_level level, const char* message);
} vb_registrar;

typedef struct vb_plugin_descriptor {
  size_t struct_size;
  uint32_t abi_major;      /* must equal the host's major */
  uint32_t abi_minor;      /* must be <= the host's minor */
  const char* name;        /* unique across loaded plugins, static storage */
  const char* version;     /* the plugin's own version, static storage */
  const char* description; /* one line, static storage, may be NULL */
  /* Registers factories. Returns VB_OK or an error with a message. */
  vb_status (*init)(const vb_registrar* registrar, vb_error* error);
  /* Called once, after every object the plugin created has been destroyed. */
  void (*shutdown)(void);
} vb_plugin_descriptor;

typedef const vb_plugin_descriptor* (*vb_plugin_entry_fn)(void);
#define VOIDBOX_PLUGIN_ENTRY_SYMBOL "voidbox_plugin_entry"

/* ------------------------------------------------------------------ */
/* Backend: creates and runs one VM (or VM-like sandbox).              */
/* ------------------------------------------------------------------ */

typedef struct vb_vm vb_vm; /* opaque, plugin-owned */

typedef enum vb_exit_reason {
  VB_EXIT_RUNNING = 0, /* wait timed out; still running */
  VB_EXIT_POWEROFF = 1,
  VB_EXIT_REBOOT = 2,
  VB_EXIT_CRASH = 3, /* triple fault, kernel panic, VMM internal error */
  VB_EXIT_KILLED = 4 /* stopped by the host */
} vb_exit_reason;

typedef struct vb_exit_info {
  size_t struct_size;
  vb_exit_reason reason;
  int32_t code;     /* backend-specific detail, 0 if none */
  char detail[256]; /* human-readable, NUL-terminated */
} vb_exit_info;

/* ABI 1.1: what a backend is and needs. */
typedef enum vb_backend_flag {
  VB_BACKEND_VM = 1u << 0,          /* the work runs in a VM: a hardware isolation boundary */
  VB_BACKEND_NEEDS_KERNEL = 1u << 1 /* create() needs "kernel" and "initramfs" in its config */
} vb_backend_flag;

typedef struct vb_backend_capabilities {
  size_t struct_size;
  uint32_t flags; /* vb_backend_flag bits */
} vb_backend_capabilities;

/* ABI 1.1: one host check of a backend's diagnosis (`voidbox doctor`). */
typedef enum vb_check_result {
  VB_CHECK_OK = 0,
  VB_CHECK_NOTE = 1, /* worth knowing; nothing is broken */
  VB_CHECK_WARN = 2, /* may not work */
  VB_CHECK_FAIL = 3  /* the backend cannot run here */
} vb_check_result;

typedef struct vb_check {
  size_t struct_size;
  const char* name; /* short and stable, e.g. "kvm" */
  vb_check_result result;
  const char* detail; /* what was found, one line */
  const char* remedy; /* what to do about it; NULL or "" when nothing */
  /* NULL, or a JSON object of raw observations; its members appear at the top
   * level of `voidbox doctor --output json`, e.g. {"kvm": {"pvm": false}}. */
  const char* facts_json;
} vb_check;

/* Receives one check; every pointer is borrowed for the duration of the call. */
typedef void (*vb_check_sink)(void* sink_ctx, const vb_check* check);

typedef struct vb_backend_vtable {
  size_t struct_size;
  /*
   * Can this backend run a VM on this host? VB_OK or VB_ERR_UNSUPPORTED with
   * a message naming the reason and the remedy. Cheap; no VM is created.
   */
  vb_status (*probe)(vb_error* error);
  /*
   * Creates a VM from a JSON config (see docs/vm-config.md in the SDK:
   * kernel, initramfs, memory_mb, vcpus, guest_args, vsock_uds, serial_log,
   * devices). The VM is not running yet.
   */
  vb_status (*create)(const char* config_json, size_t config_len, vb_vm** out, vb_error* error);
  vb_status (*start)(vb_vm* vm, vb_error* error);
  /*
   * Opens a stream to guest vsock port `port`. On VB_OK `*fd_out` is a
   * connected, blocking stream socket owned by the caller.
   */
  vb_status (*connect)(vb_vm* vm, uint32_t port, int* fd_out, vb_error* error);
  /* Waits up to timeout_ms (-1 = forever) for the VM to end. */
  vb_status (*wait)(vb_vm* vm, int32_t timeout_ms, vb_exit_info* out);
  /* Asks the VM to stop; forces it after timeout_ms. Idempotent. */
  vb_status (*stop)(vb_vm* vm, int32_t timeout_ms, vb_error* error);
  /* Frees everything; stops the VM first if still running. */
  void (*destroy)(vb_vm* vm);
  /* ABI 1.1 (present when struct_size covers them; then never NULL). */
  /* Fills `out` up to out->struct_size. Cheap; no VM is created. */
  void (*capabilities)(vb_backend_capabilities* out);
  /*
   * Runs the backend's host checks, calling `sink` once per check, in the
   * order a person should read them. options JSON (may be empty):
   * {"kernel": path} names the guest kernel a run would boot. VB_OK when the
   * checks ran, whatever they found.
   */
  vb_status (*diagnose)(const char* options_json, size_t options_len, vb_check_sink sink,
                        void* sink_ctx, vb_error* error);
} vb_backend_vtable;

/* ------------------------------------------------------------------ */
/* Exporter: receives telemetry records as JSON.                       */
/* ------------------------------------------------------------------ */

typedef struct vb_exporter vb_exporter;

typedef enum vb_record_kind {
  VB_RECORD_SPAN = 1,
  VB_RECORD_METRIC = 2,
  VB_RECORD_LOG = 3
} vb_record_kind;

typedef struct vb_exporter_vtable {
  size_t struct_size;
  vb_status (*create)(const char* config_json, size_t config_len, vb_exporter** out,
                      vb_error* error);
  /* `record_json` is one JSON object; borrowed. Thread-safe. */
  vb_status (*export_record)(vb_exporter* exporter, vb_record_kind kind, const char* record_json,
                             size_t record_len, vb_error* error);
  vb_status (*flush)(vb_exporter* exporter, vb_error* error);
  void (*destroy)(vb_exporter* exporter);
} vb_exporter_vtable;

/* ------------------------------------------------------------------ */
/* Device, transport, skill and image-source vtables are declared in   */
/* their own headers (voidbox/abi/device.h, ...) so this file stays the */
/* small stable core every plugin includes.                             */
/* ------------------------------------------------------------------ */

/* The one symbol a plugin exports. */
VOIDBOX_PLUGIN_EXPORT const vb_plugin_descriptor* voidbox_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* VOIDBOX_PLUGIN_ABI_H */
