// One plugin library held open, and the registrar it was initialised with.
#pragma once

#include <boost/dll/shared_library.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "voidbox/plugin/loader.hpp"
#include "voidbox/plugin_abi.h"

namespace voidbox::plugin::detail {

struct Registration {
  vb_kind kind;
  std::string name;
  const void* vtable;
};

// Shared by the loader and by every factory and object made from the plugin,
// so the library is unloaded (and `shutdown` called) only after the last of
// them is gone.
class LoadedPlugin {
 public:
  // Returns why a factory name is unavailable, or "" if it is free.
  using NameCheck = std::function<std::string(vb_kind, const std::string&)>;

  // `log` outlives the plugin: it serves the registrar's log hook until
  // shutdown returns.
  LoadedPlugin(boost::dll::shared_library library, const vb_plugin_descriptor* descriptor,
               PluginInfo info, std::shared_ptr<const LogSink> log);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  // Calls the plugin's init. On success `registrations()` holds what it
  // registered and `rejections()` what the host refused; on failure the
  // message says why and nothing is kept.
  std::string initialize(const NameCheck& name_taken);

  const PluginInfo& info() const noexcept { return info_; }
  PluginInfo& info() noexcept { return info_; }
  const std::vector<Registration>& registrations() const noexcept { return staged_; }
  const std::vector<std::string>& rejections() const noexcept { return rejections_; }

 private:
  static vb_status register_factory(void* ctx, vb_kind kind, const char* name, const void* vtable);
  static void log(void* ctx, vb_log_level level, const char* message);
  vb_status accept(vb_kind kind, const char* name, const void* vtable);

  boost::dll::shared_library library_;  // first member: unloaded last
  const vb_plugin_descriptor* descriptor_;
  PluginInfo info_;
  std::shared_ptr<const LogSink> log_;
  std::string log_component_;
  bool initialized_ = false;
  bool accepting_ = false;
  const NameCheck* name_taken_ = nullptr;
  std::vector<Registration> staged_;
  std::vector<std::string> rejections_;
};

}  // namespace voidbox::plugin::detail
