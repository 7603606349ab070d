#include "voidbox/plugin/exporter.hpp"

#include <utility>

#include "voidbox/sdk/error.hpp"

namespace voidbox::plugin {

Exporter::Exporter(std::shared_ptr<const void> keep_alive, const vb_exporter_vtable* vtable,
                   vb_exporter* handle, std::string name)
    : keep_alive_(std::move(keep_alive)),
      vtable_(vtable),
      handle_(handle),
      name_(std::move(name)) {}

Exporter::~Exporter() {
  if (handle_ != nullptr) vtable_->destroy(handle_);
}

std::expected<void, Error> Exporter::export_record(vb_record_kind kind,
                                                   std::string_view record_json) {
  voidbox::sdk::ErrorBuffer error;
  vb_status status =
      vtable_->export_record(handle_, kind, record_json.data(), record_json.size(), error.get());
  if (status != VB_OK) return std::unexpected(Error{status, error.describe(status)});
  return {};
}

std::expected<void, Error> Exporter::flush() {
  voidbox::sdk::ErrorBuffer error;
  vb_status status = vtable_->flush(handle_, error.get());
  if (status != VB_OK) return std::unexpected(Error{status, error.describe(status)});
  return {};
}

ExporterFactory::ExporterFactory(std::shared_ptr<const void> keep_alive,
                                 const vb_exporter_vtable* vtable, std::string name)
    : keep_alive_(std::move(keep_alive)), vtable_(vtable), name_(std::move(name)) {}

std::expected<std::unique_ptr<Exporter>, Error> ExporterFactory::create(
    std::string_view config_json) const {
  voidbox::sdk::ErrorBuffer error;
  vb_exporter* handle = nullptr;
  vb_status status = vtable_->create(config_json.data(), config_json.size(), &handle, error.get());
  if (status != VB_OK) {
    // A failed create returns nothing to own; never destroy what it left.
    return std::unexpected(Error{status, error.describe(status)});
  }
  if (handle == nullptr) {
    return std::unexpected(Error{VB_ERR_INTERNAL, name_ + ": create returned no exporter"});
  }
  return std::make_unique<Exporter>(keep_alive_, vtable_, handle, name_);
}

}  // namespace voidbox::plugin
