#include "voidbox/plugin/loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <system_error>

#include "plugin/elf_check.hpp"
#include "plugin/loaded_plugin.hpp"

namespace voidbox::plugin {
namespace {

bool has_candidate_prefix(const std::string& file_name, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  for (const auto& prefix : prefixes) {
    if (file_name.starts_with(prefix)) return true;
  }
  return false;
}

namespace fs = std::filesystem;
using detail::LoadedPlugin;

constexpr std::size_t kMaxPluginName = 128;
// struct_size must cover at least abi_major/abi_minor before they are read.
constexpr std::size_t kAbiFieldsEnd = offsetof(vb_plugin_descriptor, abi_minor) + sizeof(uint32_t);
// The descriptor as ABI 1.0 defines it.
constexpr std::size_t kDescriptorV1 = offsetof(vb_plugin_descriptor, shutdown) + sizeof(void*);
constexpr std::size_t kMaxStructSize = 64 * 1024;

// Why a descriptor cannot be used, or "" if it can.
std::string descriptor_rejection(const vb_plugin_descriptor* d) {
  if (d == nullptr) return "voidbox_plugin_entry returned null";
  if (d->struct_size < kAbiFieldsEnd || d->struct_size > kMaxStructSize) {
    return "descriptor struct_size " + std::to_string(d->struct_size) + " is not plausible";
  }
  if (d->abi_major != VOIDBOX_ABI_MAJOR) {
    return "ABI major version " + std::to_string(d->abi_major) + " does not match host ABI " +
           std::to_string(VOIDBOX_ABI_MAJOR) + ".x";
  }
  if (d->abi_minor > VOIDBOX_ABI_MINOR) {
    return "needs ABI " + std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor) +
           ", newer than host ABI " + std::to_string(VOIDBOX_ABI_MAJOR) + "." +
           std::to_string(VOIDBOX_ABI_MINOR);
  }
  if (d->struct_size < kDescriptorV1) {
    return "descriptor struct_size " + std::to_string(d->struct_size) + " is smaller than ABI " +
           std::to_string(VOIDBOX_ABI_MAJOR) + ".0 requires (" + std::to_string(kDescriptorV1) +
           ")";
  }
  if (d->name == nullptr) return "plugin name is null";
  const std::size_t length = ::strnlen(d->name, kMaxPluginName + 1);
  if (length == 0) return "plugin name is empty";
  if (length > kMaxPluginName) return "plugin name is longer than 128 bytes";
  for (std::size_t i = 0; i < length; ++i) {
    const auto c = static_cast<unsigned char>(d->name[i]);
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') {
      return "plugin name may only contain letters, digits, '-', '_' and '.'";
    }
  }
  if (d->init == nullptr) return "descriptor has no init function";
  return "";
}

// Why a plugin called `name` may not live in `file`, or "".
std::string file_name_rejection(const std::string& name, const fs::path& file) {
  const std::string expected = "lib" + name + ".so";
  if (file.filename() == expected) return "";
  return "plugin name '" + name + "' does not match the file name (plugin '" + name + "' must be " +
         expected + ")";
}

std::string bounded(const char* text) {
  if (text == nullptr) return "";
  return std::string(text, ::strnlen(text, 1024));
}

}  // namespace

struct Loader::Impl {
  struct Entry {
    vb_kind kind;
    std::string name;
    const void* vtable;
    std::shared_ptr<LoadedPlugin> owner;
  };

  LoaderOptions options;
  std::shared_ptr<const LogSink> log;
  std::vector<std::shared_ptr<LoadedPlugin>> loaded;
  std::vector<LoadFailure> failures;
  std::vector<Entry> entries;  // in registration order

  ~Impl() {
    // Factories first, then libraries in reverse load order.
    entries.clear();
    while (!loaded.empty()) loaded.pop_back();
  }

  void say(vb_log_level level, const std::string& message) const {
    if (*log) (*log)(level, "plugin", message);
  }

  const Entry* lookup(vb_kind kind, std::string_view name) const {
    for (const auto& entry : entries) {
      if (entry.kind == kind && entry.name == name) return &entry;
    }
    return nullptr;
  }

  bool fail(const fs::path& path, std::string reason) {
    if (options.log_failures) say(VB_LOG_WARN, "skipping " + path.string() + ": " + reason);
    failures.push_back({path, std::move(reason)});
    return false;
  }

  RawFactory raw(const Entry& entry) const {
    return RawFactory{entry.kind, entry.name, entry.vtable,
                      std::shared_ptr<const void>(entry.owner, entry.owner.get()),
                      &entry.owner->info()};
  }
};

Loader::Loader(LoaderOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->log = std::make_shared<const LogSink>(options.log);
  impl_->options = std::move(options);
}
Loader::~Loader() = default;
Loader::Loader(Loader&&) noexcept = default;
Loader& Loader::operator=(Loader&&) noexcept = default;

void Loader::load_default(const fs::path& installed_from_module) {
  for (const auto& dir : default_search_dirs(installed_from_module)) {
    impl_->say(VB_LOG_DEBUG, "scanning " + dir.path.string() + " (" + dir.origin + ")");
    load_directory(dir.path);
  }
}

void Loader::load_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<fs::path> candidates;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (path.extension() != ".so") continue;
    if (!has_candidate_prefix(path.filename().string(), impl_->options.file_prefixes)) continue;
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec)) {
      impl_->fail(path, "not a regular file");
      continue;
    }
    candidates.push_back(path);
  }
  if (ec) impl_->fail(dir, "cannot read directory: " + ec.message());
  std::sort(candidates.begin(), candidates.end());
  for (const auto& path : candidates) load_file(path);
}

bool Loader::load_file(const fs::path& file) {
  if (auto why = detail::elf_rejection(file)) return impl_->fail(file, *why);

  boost::dll::shared_library library;
  boost::dll::fs::error_code ec;
  library.load(boost::dll::fs::path(file.string()),
               boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !library.is_loaded()) {
    const char* why = ::dlerror();
    return impl_->fail(file, "cannot load: " + (why != nullptr ? std::string(why) : ec.message()));
  }
  if (!library.has(VOIDBOX_PLUGIN_ENTRY_SYMBOL)) {
    return impl_->fail(file, "no voidbox_plugin_entry symbol (not a VoidBox plugin?)");
  }
  auto& entry = library.get<const vb_plugin_descriptor*()>(VOIDBOX_PLUGIN_ENTRY_SYMBOL);
  const vb_plugin_descriptor* descriptor = entry();
  if (std::string why = descriptor_rejection(descriptor); !why.empty()) {
    return impl_->fail(file, why);
  }

  PluginInfo info;
  info.name = bounded(descriptor->name);
  info.version = bounded(descriptor->version);
  info.description = bounded(descriptor->description);
  info.path = file;
  info.abi_major = descriptor->abi_major;
  info.abi_minor = descriptor->abi_minor;
  if (std::string why = file_name_rejection(info.name, file); !why.empty()) {
    return impl_->fail(file, why);
  }
  for (const auto& other : impl_->loaded) {
    if (other->info().name == info.name) {
      return impl_->fail(file, "duplicate plugin name '" + info.name + "' (already loaded from " +
                                   other->info().path.string() + ")");
    }
  }

  auto plugin =
      std::make_shared<LoadedPlugin>(std::move(library), descriptor, std::move(info), impl_->log);
  LoadedPlugin::NameCheck name_taken = [this](vb_kind kind, const std::string& name) {
    const Impl::Entry* existing = impl_->lookup(kind, name);
    return existing == nullptr
               ? std::string()
               : "already provided by plugin '" + existing->owner->info().name + "'";
  };
  if (std::string why = plugin->initialize(name_taken); !why.empty()) {
    return impl_->fail(file, why);
  }
  for (const auto& reg : plugin->registrations()) {
    impl_->entries.push_back({reg.kind, reg.name, reg.vtable, plugin});
    plugin->info().factories.push_back({reg.kind, reg.name});
  }
  for (const auto& why : plugin->rejections()) impl_->fail(file, why);
  impl_->say(VB_LOG_DEBUG, "loaded " + plugin->info().name + " " + plugin->info().version +
                               " from " + file.string());
  impl_->loaded.push_back(std::move(plugin));
  return true;
}

std::vector<PluginInfo> Loader::plugins() const {
  std::vector<PluginInfo> out;
  out.reserve(impl_->loaded.size());
  for (const auto& plugin : impl_->loaded) out.push_back(plugin->info());
  return out;
}

const std::vector<LoadFailure>& Loader::failures() const noexcept {
  return impl_->failures;
}

std::vector<RawFactory> Loader::factories() const {
  std::vector<RawFactory> out;
  for (const auto& entry : impl_->entries) out.push_back(impl_->raw(entry));
  return out;
}

std::optional<RawFactory> Loader::find(vb_kind kind, std::string_view name) const {
  const Impl::Entry* entry = impl_->lookup(kind, name);
  if (entry == nullptr) return std::nullopt;
  return impl_->raw(*entry);
}

std::string_view kind_name(vb_kind kind) noexcept {
  switch (kind) {
    case VB_KIND_BACKEND:
      return "backend";
    case VB_KIND_DEVICE:
      return "device";
    case VB_KIND_TRANSPORT:
      return "transport";
    case VB_KIND_SKILL:
      return "skill";
    case VB_KIND_EXPORTER:
      return "exporter";
    case VB_KIND_IMAGE_SOURCE:
      return "image-source";
  }
  return "unknown";
}

std::optional<vb_kind> parse_kind(std::string_view name) noexcept {
  for (vb_kind kind : {VB_KIND_BACKEND, VB_KIND_DEVICE, VB_KIND_TRANSPORT, VB_KIND_SKILL,
                       VB_KIND_EXPORTER, VB_KIND_IMAGE_SOURCE}) {
    if (kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace voidbox::plugin
