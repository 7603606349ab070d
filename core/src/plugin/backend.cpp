#include "voidbox/plugin/backend.hpp"

#include <unistd.h>

#include <cstring>
#include <utility>

#include "voidbox/sdk/error.hpp"

namespace voidbox::plugin {
namespace {

Error failure(vb_status status, voidbox::sdk::ErrorBuffer& buffer) {
  return Error{status, buffer.describe(status)};
}

}  // namespace

Vm::Vm(std::shared_ptr<const void> keep_alive, const vb_backend_vtable* vtable, vb_vm* handle,
       std::string backend)
    : keep_alive_(std::move(keep_alive)),
      vtable_(vtable),
      handle_(handle),
      backend_(std::move(backend)) {}

Vm::~Vm() {
  if (handle_ != nullptr) vtable_->destroy(handle_);
}

std::expected<void, Error> Vm::start() {
  voidbox::sdk::ErrorBuffer error;
  vb_status status = vtable_->start(handle_, error.get());
  if (status != VB_OK) return std::unexpected(failure(status, error));
  return {};
}

std::expected<int, Error> Vm::connect(std::uint32_t port) {
  voidbox::sdk::ErrorBuffer error;
  int fd = -1;
  vb_status status = vtable_->connect(handle_, port, &fd, error.get());
  if (status != VB_OK) {
    if (fd >= 0) ::close(fd);
    return std::unexpected(failure(status, error));
  }
  if (fd < 0) return std::unexpected(Error{VB_ERR_INTERNAL, backend_ + ": connect returned no fd"});
  return fd;
}

std::expected<ExitInfo, Error> Vm::wait(std::int32_t timeout_ms) {
  vb_exit_info info{};
  info.struct_size = sizeof info;
  vb_status status = vtable_->wait(handle_, timeout_ms, &info);
  info.detail[sizeof info.detail - 1] = '\0';
  if (status != VB_OK) {
    std::string detail = info.detail;
    return std::unexpected(
        Error{status, detail.empty() ? voidbox::sdk::status_name(status) : detail});
  }
  return ExitInfo{info.reason, info.code, info.detail};
}

std::expected<void, Error> Vm::stop(std::int32_t timeout_ms) {
  voidbox::sdk::ErrorBuffer error;
  vb_status status = vtable_->stop(handle_, timeout_ms, error.get());
  if (status != VB_OK) return std::unexpected(failure(status, error));
  return {};
}

BackendFactory::BackendFactory(std::shared_ptr<const void> keep_alive,
                               const vb_backend_vtable* vtable, std::string name)
    : keep_alive_(std::move(keep_alive)), vtable_(vtable), name_(std::move(name)) {}

std::expected<void, Error> BackendFactory::probe() const {
  voidbox::sdk::ErrorBuffer error;
  vb_status status = vtable_->probe(error.get());
  if (status != VB_OK) return std::unexpected(failure(status, error));
  return {};
}

namespace {

bool has_v1_1(const vb_backend_vtable* vtable) {
  return vtable->struct_size >= offsetof(vb_backend_vtable, diagnose) + sizeof(void*);
}

std::string bounded(const char* text) {
  return text == nullptr ? std::string() : std::string(text, ::strnlen(text, 64 * 1024));
}

void collect_check(void* ctx, const vb_check* check) {
  auto* out = static_cast<std::vector<Check>*>(ctx);
  constexpr std::size_t kFields = offsetof(vb_check, facts_json) + sizeof(const char*);
  if (check == nullptr || check->struct_size < kFields || out->size() >= 256) return;
  try {
    out->push_back({bounded(check->name), check->result, bounded(check->detail),
                    bounded(check->remedy), bounded(check->facts_json)});
  } catch (...) {
  }
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace

std::optional<BackendCapabilities> BackendFactory::capabilities() const {
  if (!has_v1_1(vtable_)) return std::nullopt;
  vb_backend_capabilities caps{};
  caps.struct_size = sizeof caps;
  vtable_->capabilities(&caps);
  return BackendCapabilities{(caps.flags & VB_BACKEND_VM) != 0,
                             (caps.flags & VB_BACKEND_NEEDS_KERNEL) != 0};
}

std::expected<std::vector<Check>, Error> BackendFactory::diagnose(std::string_view kernel) const {
  std::vector<Check> checks;
  if (!has_v1_1(vtable_)) {
    auto probed = probe();
    checks.push_back(probed ? Check{"probe", VB_CHECK_OK, name_ + " can run here", "", ""}
                            : Check{"probe", VB_CHECK_FAIL, probed.error().message, "", ""});
    return checks;
  }
  const std::string options =
      kernel.empty() ? std::string("{}") : "{\"kernel\":" + json_string(kernel) + "}";
  voidbox::sdk::ErrorBuffer error;
  const vb_status status =
      vtable_->diagnose(options.data(), options.size(), &collect_check, &checks, error.get());
  if (status != VB_OK) return std::unexpected(failure(status, error));
  return checks;
}

std::expected<std::unique_ptr<Vm>, Error> BackendFactory::create(
    std::string_view config_json) const {
  voidbox::sdk::ErrorBuffer error;
  vb_vm* handle = nullptr;
  vb_status status = vtable_->create(config_json.data(), config_json.size(), &handle, error.get());
  if (status != VB_OK) {
    // A failed create returns nothing to own; never destroy what it left.
    return std::unexpected(failure(status, error));
  }
  if (handle == nullptr) {
    return std::unexpected(Error{VB_ERR_INTERNAL, name_ + ": create returned no VM"});
  }
  return std::make_unique<Vm>(keep_alive_, vtable_, handle, name_);
}

}  // namespace voidbox::plugin
