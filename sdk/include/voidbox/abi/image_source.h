/*
 * Image source: a factory of kind VB_KIND_IMAGE_SOURCE that pulls container
 * images into a content-addressed cache, unpacks them into a directory and
 * builds a root filesystem disk from them.
 *
 * Results cross the boundary as JSON handed to a caller-supplied sink: the
 * callee calls `sink(sink_ctx, json, len)` at most once per call, before it
 * returns, and the caller copies what it wants. This way no heap memory
 * changes owner across the boundary.
 *
 * Threading: the vtable and one vb_image_source handle may be used from
 * several threads at once; the plugin serialises what needs it (and several
 * processes may share one cache directory).
 */
#ifndef VOIDBOX_ABI_IMAGE_SOURCE_H
#define VOIDBOX_ABI_IMAGE_SOURCE_H

#include "voidbox/plugin_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vb_image_source vb_image_source; /* opaque, plugin-owned */

/* Receives one result; `json` is borrowed for the duration of the call. */
typedef void (*vb_json_sink)(void* sink_ctx, const char* json, size_t json_len);

typedef enum vb_image_progress_state {
  VB_IMAGE_PROGRESS_WAITING = 0, /* queued behind other downloads */
  VB_IMAGE_PROGRESS_DOWNLOADING = 1,
  VB_IMAGE_PROGRESS_VERIFYING = 2,
  VB_IMAGE_PROGRESS_DONE = 3,  /* downloaded and verified */
  VB_IMAGE_PROGRESS_CACHED = 4 /* already in the cache */
} vb_image_progress_state;

typedef struct vb_image_progress {
  size_t struct_size;
  const char* digest;   /* "sha256:<hex>" of the blob; borrowed */
  uint32_t layer_index; /* 0-based position among the image's layers */
  uint32_t layer_count;
  uint64_t bytes_done;  /* includes bytes resumed from a partial file */
  uint64_t bytes_total; /* size from the manifest */
  vb_image_progress_state state;
} vb_image_progress;

/*
 * Called from plugin threads, never concurrently with itself. Returning
 * non-zero cancels the pull (it then fails with VB_ERR_IO "cancelled").
 */
typedef int (*vb_image_progress_fn)(void* ctx, const vb_image_progress* progress);

typedef struct vb_image_source_vtable {
  size_t struct_size;
  /*
   * config JSON (every key optional):
   *   cache_dir            string  default ${XDG_CACHE_HOME:-~/.cache}/voidbox/oci
   *   platform             string  "os/arch[/variant]", default "linux/amd64"
   *   insecure_registries  [string] hosts ("host:port") spoken to over plain http
   *   max_concurrent_downloads  integer, default 4
   *   docker_config        string  path of a Docker config.json for credentials
   */
  vb_status (*create)(const char* config_json, size_t config_len, vb_image_source** out,
                      vb_error* error);
  /*
   * Pulls `ref` ("[host[:port]/]name[:tag][@sha256:hex]") into the cache.
   * options JSON (may be empty): {"platform": "linux/arm64"}.
   * Result: {"reference", "manifest_digest", "index_digest" (or null),
   *          "platform", "config_digest", "config": {...}, "layers": [
   *          {"digest", "size", "media_type"}], "downloaded_bytes"}.
   */
  vb_status (*pull)(vb_image_source* source, const char* ref, const char* options_json,
                    size_t options_len, vb_image_progress_fn progress, void* progress_ctx,
                    vb_json_sink sink, void* sink_ctx, vb_error* error);
  /*
   * Writes the rootfs of a pulled image (by reference or manifest digest)
   * into `dest_dir` (created if missing). Result: {"manifest_digest",
   * "layers", "entries", "skipped_devices", "ownership_errors",
   * "xattr_errors", "permission_errors"}.
   */
  vb_status (*unpack)(vb_image_source* source, const char* ref_or_digest, const char* dest_dir,
                      vb_json_sink sink, void* sink_ctx, vb_error* error);
  /*
   * Builds (or finds in the cache) an ext4 image of the rootfs, keyed by the
   * manifest digest. Result: {"path", "size_bytes", "cached", "config"} (config:
   * the image's config JSON, so a caller learns its Env and WorkingDir).
   */
  vb_status (*build_rootfs_disk)(vb_image_source* source, const char* ref_or_digest,
                                 vb_json_sink sink, void* sink_ctx, vb_error* error);
  /* Result: {"images": [{"reference", "manifest_digest", "platform", "size"}]}. */
  vb_status (*list)(vb_image_source* source, vb_json_sink sink, void* sink_ctx, vb_error* error);
  /* Forgets a reference (or every reference to a digest). Result: {"removed": [refs]}. */
  vb_status (*remove)(vb_image_source* source, const char* ref_or_digest, vb_json_sink sink,
                      void* sink_ctx, vb_error* error);
  /* Deletes blobs and disks no reference uses. Result: {"removed_blobs", "freed_bytes"}. */
  vb_status (*prune)(vb_image_source* source, vb_json_sink sink, void* sink_ctx, vb_error* error);
  void (*destroy)(vb_image_source* source);
} vb_image_source_vtable;

#ifdef __cplusplus
}
#endif

#endif /* VOIDBOX_ABI_IMAGE_SOURCE_H */
