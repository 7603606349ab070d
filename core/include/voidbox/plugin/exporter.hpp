// The runtime's view of an exporter plugin.
#pragma once

#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "voidbox/plugin/error.hpp"
#include "voidbox/plugin_abi.h"

namespace voidbox::plugin {

// One exporter instance; export_record may be called from several threads.
class Exporter {
 public:
  Exporter(std::shared_ptr<const void> keep_alive, const vb_exporter_vtable* vtable,
           vb_exporter* handle, std::string name);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  const std::string& name() const noexcept { return name_; }
  std::expected<void, Error> export_record(vb_record_kind kind, std::string_view record_json);
  std::expected<void, Error> flush();

 private:
  std::shared_ptr<const void> keep_alive_;
  const vb_exporter_vtable* vtable_;
  vb_exporter* handle_;
  std::string name_;
};

class ExporterFactory {
 public:
  ExporterFactory(std::shared_ptr<const void> keep_alive, const vb_exporter_vtable* vtable,
                  std::string name);

  const std::string& name() const noexcept { return name_; }
  std::expected<std::unique_ptr<Exporter>, Error> create(std::string_view config_json) const;

 private:
  std::shared_ptr<const void> keep_alive_;
  const vb_exporter_vtable* vtable_;
  std::string name_;
};

}  // namespace voidbox::plugin
