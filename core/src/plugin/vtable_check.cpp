// What the loader checks in every registered vtable: its struct_size covers
// the functions of ABI 1.0 for its kind, and none of the functions it has is
// null. A plugin
// with a null entry would crash the host on first use, in the VMM while a
// hostile guest drives the device.
#include <cstddef>
#include <string>
#include <utility>

#include "voidbox/abi/device.h"
#include "voidbox/abi/image_source.h"
#include "voidbox/abi/transport.h"
#include "voidbox/plugin/loader.hpp"

namespace voidbox::plugin {
namespace {

constexpr std::size_t kMaxVtableSize = 64 * 1024;

// The name of the first null function among `entries`, or "".
template <class Table, class... Members>
std::string first_null(const Table& table, std::pair<const char*, Members Table::*>... entries) {
  std::string missing;
  ((missing.empty() && table.*(entries.second) == nullptr ? (void)(missing = entries.first)
                                                          : (void)0),
   ...);
  return missing;
}

#define VB_ENTRY(table, member) \
  std::pair {                   \
#member, &table::member     \
  }

std::string table_rejection(std::string_view kind, std::size_t size, std::size_t needed,
                            const std::string& null_entry) {
  if (size < needed) {
    return std::string(kind) + " vtable struct_size " + std::to_string(size) + " < " +
           std::to_string(needed);
  }
  if (!null_entry.empty()) return std::string(kind) + " vtable has a null '" + null_entry + "'";
  return "";
}

}  // namespace

std::string vtable_rejection(vb_kind kind, const void* vtable) {
  if (vtable == nullptr) return "vtable is null";
  const std::size_t size = *static_cast<const std::size_t*>(vtable);
  if (size > kMaxVtableSize) {
    return "vtable struct_size " + std::to_string(size) + " is implausible";
  }
  switch (kind) {
    case VB_KIND_BACKEND: {
      constexpr std::size_t needed = offsetof(vb_backend_vtable, destroy) + sizeof(void*);
      if (size < needed) return table_rejection("backend", size, needed, "");
      const auto& t = *static_cast<const vb_backend_vtable*>(vtable);
      std::string null_entry =
          first_null(t, VB_ENTRY(vb_backend_vtable, probe), VB_ENTRY(vb_backend_vtable, create),
                     VB_ENTRY(vb_backend_vtable, start), VB_ENTRY(vb_backend_vtable, connect),
                     VB_ENTRY(vb_backend_vtable, wait), VB_ENTRY(vb_backend_vtable, stop),
                     VB_ENTRY(vb_backend_vtable, destroy));
      // ABI 1.1's functions are optional, but not null when the table has them.
      constexpr std::size_t v1_1 = offsetof(vb_backend_vtable, diagnose) + sizeof(void*);
      if (null_entry.empty() && size >= v1_1) {
        null_entry = first_null(t, VB_ENTRY(vb_backend_vtable, capabilities),
                                VB_ENTRY(vb_backend_vtable, diagnose));
      }
      return table_rejection("backend", size, needed, null_entry);
    }
    case VB_KIND_EXPORTER: {
      constexpr std::size_t needed = offsetof(vb_exporter_vtable, destroy) + sizeof(void*);
      if (size < needed) return table_rejection("exporter", size, needed, "");
      const auto& t = *static_cast<const vb_exporter_vtable*>(vtable);
      return table_rejection(
          "exporter", size, needed,
          first_null(t, VB_ENTRY(vb_exporter_vtable, create),
                     VB_ENTRY(vb_exporter_vtable, export_record),
                     VB_ENTRY(vb_exporter_vtable, flush), VB_ENTRY(vb_exporter_vtable, destroy)));
    }
    case VB_KIND_DEVICE: {
      constexpr std::size_t needed = offsetof(vb_device_vtable, destroy) + sizeof(void*);
      if (size < needed) return table_rejection("device", size, needed, "");
      const auto& t = *static_cast<const vb_device_vtable*>(vtable);
      // ABI 1.2's network entries: both or neither (neither: not a network device).
      constexpr std::size_t v1_2 = offsetof(vb_device_vtable, set_peer) + sizeof(void*);
      if (size >= v1_2 && (t.frame_port == nullptr) != (t.set_peer == nullptr)) {
        return std::string("device vtable has a null '") +
               (t.frame_port == nullptr ? "frame_port" : "set_peer") + "' but not the other";
      }
      return table_rejection(
          "device", size, needed,
          first_null(
              t, VB_ENTRY(vb_device_vtable, create), VB_ENTRY(vb_device_vtable, device_type),
              VB_ENTRY(vb_device_vtable, num_queues), VB_ENTRY(vb_device_vtable, queue_max_size),
              VB_ENTRY(vb_device_vtable, features), VB_ENTRY(vb_device_vtable, ack_features),
              VB_ENTRY(vb_device_vtable, config_size), VB_ENTRY(vb_device_vtable, config_read),
              VB_ENTRY(vb_device_vtable, config_write), VB_ENTRY(vb_device_vtable, activate),
              VB_ENTRY(vb_device_vtable, queue_notify), VB_ENTRY(vb_device_vtable, reset),
              VB_ENTRY(vb_device_vtable, destroy)));
    }
    case VB_KIND_IMAGE_SOURCE: {
      constexpr std::size_t needed = offsetof(vb_image_source_vtable, destroy) + sizeof(void*);
      if (size < needed) {
        return table_rejection("image-source", size, needed, "");
      }
      const auto& t = *static_cast<const vb_image_source_vtable*>(vtable);
      return table_rejection(
          "image-source", size, needed,
          first_null(
              t, VB_ENTRY(vb_image_source_vtable, create), VB_ENTRY(vb_image_source_vtable, pull),
              VB_ENTRY(vb_image_source_vtable, unpack),
              VB_ENTRY(vb_image_source_vtable, build_rootfs_disk),
              VB_ENTRY(vb_image_source_vtable, list), VB_ENTRY(vb_image_source_vtable, remove),
              VB_ENTRY(vb_image_source_vtable, prune), VB_ENTRY(vb_image_source_vtable, destroy)));
    }
    case VB_KIND_TRANSPORT: {
      constexpr std::size_t needed = offsetof(vb_transport_vtable, destroy) + sizeof(void*);
      if (size < needed) return table_rejection("transport", size, needed, "");
      const auto& t = *static_cast<const vb_transport_vtable*>(vtable);
      return table_rejection(
          "transport", size, needed,
          first_null(t, VB_ENTRY(vb_transport_vtable, create), VB_ENTRY(vb_transport_vtable, port),
                     VB_ENTRY(vb_transport_vtable, start), VB_ENTRY(vb_transport_vtable, describe),
                     VB_ENTRY(vb_transport_vtable, destroy)));
    }
    case VB_KIND_SKILL:
      // No ABI header defines these tables yet: only that there is room for
      // one function.
      if (size < sizeof(std::size_t) + sizeof(void*)) return "vtable struct_size too small";
      return "";
  }
  return "unknown kind " + std::to_string(static_cast<int>(kind));
}

}  // namespace voidbox::plugin
