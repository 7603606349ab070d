#include "voidbox/plugin/registry.hpp"

#include "voidbox/log.hpp"

namespace voidbox::plugin {
namespace {

log::Level to_level(vb_log_level level) {
  switch (level) {
    case VB_LOG_TRACE:
      return log::Level::trace;
    case VB_LOG_DEBUG:
      return log::Level::debug;
    case VB_LOG_INFO:
      return log::Level::info;
    case VB_LOG_WARN:
      return log::Level::warn;
    case VB_LOG_ERROR:
      return log::Level::error;
  }
  return log::Level::info;
}

LoaderOptions runtime_log(bool log_failures) {
  LoaderOptions options;
  options.log_failures = log_failures;
  options.log = [](vb_log_level level, std::string_view component, std::string_view message) {
    if (log::enabled(to_level(level))) log::write(to_level(level), component, message);
  };
  return options;
}

template <class Factory, class Vtable>
std::expected<Factory, Error> typed(const Loader& loader, vb_kind kind, std::string_view name) {
  auto raw = loader.find(kind, name);
  if (!raw) {
    return std::unexpected(Error{VB_ERR_NOT_FOUND, "no " + std::string(kind_name(kind)) +
                                                       " named '" + std::string(name) + "'"});
  }
  return Factory(raw->keep_alive, static_cast<const Vtable*>(raw->vtable), raw->name);
}

}  // namespace

Registry::Registry(bool log_failures) : loader_(runtime_log(log_failures)) {}
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

void Registry::load_default() {
  loader_.load_default();
}
void Registry::load_directory(const std::filesystem::path& dir) {
  loader_.load_directory(dir);
}
bool Registry::load_file(const std::filesystem::path& file) {
  return loader_.load_file(file);
}
std::vector<PluginInfo> Registry::plugins() const {
  return loader_.plugins();
}
const std::vector<LoadFailure>& Registry::failures() const noexcept {
  return loader_.failures();
}
std::vector<RawFactory> Registry::factories() const {
  return loader_.factories();
}
std::optional<RawFactory> Registry::find(vb_kind kind, std::string_view name) const {
  return loader_.find(kind, name);
}

std::expected<BackendFactory, Error> Registry::backend(std::string_view name) const {
  return typed<BackendFactory, vb_backend_vtable>(loader_, VB_KIND_BACKEND, name);
}

std::expected<ExporterFactory, Error> Registry::exporter(std::string_view name) const {
  return typed<ExporterFactory, vb_exporter_vtable>(loader_, VB_KIND_EXPORTER, name);
}

}  // namespace voidbox::plugin
