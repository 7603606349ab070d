// Writing an exporter as a C++ class. Implement `Exporter`, give the class
//
//   static voidbox::sdk::Result<std::unique_ptr<MyExporter>> create(std::string_view config_json);
//
// and register `exporter_vtable<MyExporter>()`. export_record must be
// thread-safe (the ABI allows concurrent calls); exceptions are caught at the
// edge and reported as VB_ERR_INTERNAL.
#pragma once

#include <memory>
#include <string_view>
#include <type_traits>

#include "voidbox/plugin_abi.h"
#include "voidbox/sdk/error.hpp"
#include "voidbox/sdk/guard.hpp"

namespace voidbox::sdk {

class Exporter {
 public:
  virtual ~Exporter() = default;
  virtual Result<> export_record(vb_record_kind kind, std::string_view record_json) = 0;
  virtual Result<> flush() { return {}; }
};

namespace detail {

inline Exporter* as_exporter(vb_exporter* handle) noexcept {
  return reinterpret_cast<Exporter*>(handle);
}

template <class T>
vb_status exporter_create(const char* config, size_t config_len, vb_exporter** out,
                          vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (out == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null output handle");
    *out = nullptr;
    std::string_view json =
        config == nullptr ? std::string_view() : std::string_view(config, config_len);
    auto made = T::create(json);  // Result<std::unique_ptr<T>>
    if (!made) return std::unexpected(std::move(made.error()));
    if (*made == nullptr) return fail(VB_ERR_INTERNAL, "create returned no exporter");
    Exporter* base = made->release();
    *out = reinterpret_cast<vb_exporter*>(base);
    return {};
  });
}

inline vb_status exporter_export(vb_exporter* handle, vb_record_kind kind, const char* record,
                                 size_t record_len, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (handle == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null exporter");
    std::string_view json =
        record == nullptr ? std::string_view() : std::string_view(record, record_len);
    return as_exporter(handle)->export_record(kind, json);
  });
}

inline vb_status exporter_flush(vb_exporter* handle, vb_error* error) noexcept {
  return guarded(error, [&]() -> Result<> {
    if (handle == nullptr) return fail(VB_ERR_INVALID_ARGUMENT, "null exporter");
    return as_exporter(handle)->flush();
  });
}

inline void exporter_destroy(vb_exporter* handle) noexcept {
  try {
    delete as_exporter(handle);
  } catch (...) {
  }
}

}  // namespace detail

template <class T>
const vb_exporter_vtable* exporter_vtable() noexcept {
  static_assert(std::is_base_of_v<Exporter, T>, "T must derive from voidbox::sdk::Exporter");
  static constexpr vb_exporter_vtable table = {
      sizeof(vb_exporter_vtable), &detail::exporter_create<T>, &detail::exporter_export,
      &detail::exporter_flush, &detail::exporter_destroy};
  return &table;
}

}  // namespace voidbox::sdk
