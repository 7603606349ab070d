#include "voidbox/plugin/backend.hpp"

#include <unistd.h>

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
