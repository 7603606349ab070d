// Finding, loading and checking plugins, and looking up what they provide.
//
// Search order (the first plugin to claim a name wins; later ones with the
// same name are reported as failures and skipped):
//   1. the plugin directory next to libvoidbox: <libdir>/voidbox/plugins
//      (in the build tree that is <build>/lib/voidbox/plugins);
//   2. the configured install directory (${libdir}/voidbox/plugins of the
//      install prefix), unless running from the build tree;
//   3. each directory in VOIDBOX_PLUGIN_PATH (colon-separated), in order.
// Shipped plugins therefore cannot be shadowed by an environment variable; a
// user adds plugins under new names.
//
// Only regular files named *.so are considered; one that is not an ELF shared
// object for this machine is reported without being opened. Libraries stay
// loaded as long as the registry or any factory/object made from them lives.
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
#include "voidbox/plugin_abi.h"

namespace voidbox::plugin {

struct SearchDir {
  std::filesystem::path path;
  std::string origin;  // "install", "env" (VOIDBOX_PLUGIN_PATH) or "build"
};

// The directories to scan, in order, without duplicates. Reads
// VOIDBOX_PLUGIN_PATH from the environment.
std::vector<SearchDir> default_search_dirs();

struct FactoryInfo {
  vb_kind kind;
  std::string name;
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string description;
  std::filesystem::path path;
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::vector<FactoryInfo> factories;
};

struct LoadFailure {
  std::filesystem::path path;
  std::string reason;
};

// A factory vtable of any kind plus the handle that keeps its library loaded.
// Wrappers for kinds declared outside plugin_abi.h (device, image source)
// start from this: check `vtable`'s struct_size, keep `keep_alive` in every
// object they create.
struct RawFactory {
  vb_kind kind;
  std::string name;
  const void* vtable = nullptr;
  std::shared_ptr<const void> keep_alive;
  const PluginInfo* plugin = nullptr;  // valid while the registry lives
};

std::string_view kind_name(vb_kind kind) noexcept;
std::optional<vb_kind> parse_kind(std::string_view name) noexcept;

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
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voidbox::plugin
