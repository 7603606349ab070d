// Finding, checking and loading plugin libraries: the one loader every
// VoidBox process uses (libvoidbox's Registry and voidbox-vmm). It depends on
// the C ABI and Boost.DLL only, not on the rest of libvoidbox.
//
// Search order (the first plugin to claim a name wins; later ones with the
// same name are reported as failures and skipped):
//   1. the installed plugin directory, found relative to the module (library
//      or executable) the loader is linked into, then the configured
//      ${libdir}/voidbox/plugins of the install prefix; both skipped when
//      running from the build tree;
//   2. each directory in VOIDBOX_PLUGIN_PATH (colon-separated), in order;
//   3. <build>/lib/voidbox/plugins when running from the build tree.
// Shipped plugins therefore cannot be shadowed by an environment variable; a
// user adds plugins under new names.
//
// A plugin library is named lib<name>.so where <name> is its descriptor's
// name, conventionally <kind>-<what> (libdevice-virtio-blk.so is plugin
// "device-virtio-blk"); a library whose descriptor says otherwise is refused.
// Only regular files named *.so are considered; one that is not an ELF shared
// object for this machine is reported without being opened. Each registered
// vtable is checked for its kind's size and for null functions. Libraries stay
// loaded as long as the loader or any factory/object made from them lives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "voidbox/plugin_abi.h"

namespace voidbox::plugin {

struct SearchDir {
  std::filesystem::path path;
  std::string origin;  // "install", "env" (VOIDBOX_PLUGIN_PATH) or "build"
};

// The directories to scan, in order, without duplicates. Reads
// VOIDBOX_PLUGIN_PATH from the environment. `installed_from_module` is where
// the installed plugin directory lies relative to the directory of the module
// this code is linked into (libvoidbox in ${libdir}: "voidbox/plugins").
std::vector<SearchDir> default_search_dirs(
    const std::filesystem::path& installed_from_module = "voidbox/plugins");

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

// A checked factory vtable of any kind plus the handle that keeps its library
// loaded: keep `keep_alive` in every object created through `vtable`.
struct RawFactory {
  vb_kind kind;
  std::string name;
  const void* vtable = nullptr;
  std::shared_ptr<const void> keep_alive;
  const PluginInfo* plugin = nullptr;  // valid while the loader lives
};

std::string_view kind_name(vb_kind kind) noexcept;
std::optional<vb_kind> parse_kind(std::string_view name) noexcept;

// Why `vtable` cannot serve as a factory of `kind` (too small for the ABI
// version it claims to implement, a null function), or "" if it can.
std::string vtable_rejection(vb_kind kind, const void* vtable);

// Receives the loader's messages and its plugins' log calls; `component` is
// "plugin" or "plugin:<name>". Called from any thread while plugins live.
using LogSink =
    std::function<void(vb_log_level level, std::string_view component, std::string_view message)>;

struct LoaderOptions {
  LogSink log;  // empty: messages are dropped
  // Also log each failure as a warning (`plugins list` prints them itself).
  bool log_failures = true;
  // Only files whose name starts with one of these are candidates; the rest
  // are not opened and not reported (voidbox-vmm loads "libdevice-" and
  // "libnet-" files only). Empty: every .so file.
  std::vector<std::string> file_prefixes;
};

class Loader {
 public:
  explicit Loader(LoaderOptions options = {});
  ~Loader();
  Loader(Loader&&) noexcept;
  Loader& operator=(Loader&&) noexcept;
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Scans default_search_dirs(installed_from_module).
  void load_default(const std::filesystem::path& installed_from_module = "voidbox/plugins");
  // Loads every candidate *.so directly in `dir`, sorted by file name. A
  // missing directory is not an error.
  void load_directory(const std::filesystem::path& dir);
  // Loads one library. On failure records why and returns false.
  bool load_file(const std::filesystem::path& file);

  // Loaded plugins in load order, with the factories each registered.
  std::vector<PluginInfo> plugins() const;
  const std::vector<LoadFailure>& failures() const noexcept;

  // Every registered factory, in registration order.
  std::vector<RawFactory> factories() const;
  std::optional<RawFactory> find(vb_kind kind, std::string_view name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voidbox::plugin
