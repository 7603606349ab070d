// The runtime's plugin registry: the shared loader (voidbox/plugin/loader.hpp,
// which documents the search order and every check), logging into the
// runtime's log, plus typed factories for the kinds core drives.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/plugin/backend.hpp"
#include "voidbox/plugin/error.hpp"
#include "voidbox/plugin/exporter.hpp"
#include "voidbox/plugin/loader.hpp"
#include "voidbox/plugin_abi.h"

namespace voidbox::plugin {

class Registry {
 public:
  // log_failures: also log each skipped file as a warning (`plugins list`
  // turns this off because it prints the failures itself).
  explicit Registry(bool log_failures = true);
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Scans default_search_dirs().
  void load_default();
  // Loads every *.so directly in `dir`, sorted by file name. A missing
  // directory is not an error.
  void load_directory(const std::filesystem::path& dir);
  // Loads one library. On failure records why and returns false.
  bool load_file(const std::filesystem::path& file);

  // Loaded plugins in load order, with the factories each registered.
  std::vector<PluginInfo> plugins() const;
  const std::vector<LoadFailure>& failures() const noexcept;

  // Every registered factory, in registration order.
  std::vector<RawFactory> factories() const;
  std::optional<RawFactory> find(vb_kind kind, std::string_view name) const;

  std::expected<BackendFactory, Error> backend(std::string_view name) const;
  std::expected<ExporterFactory, Error> exporter(std::string_view name) const;

 private:
  Loader loader_;
};

}  // namespace voidbox::plugin
