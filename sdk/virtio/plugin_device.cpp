#include "voidbox/virtio/plugin_device.hpp"

#include <bit>
#include <cstddef>

namespace voidbox::virtio {

std::expected<std::unique_ptr<PluginDevice>, std::string> PluginDevice::create(
    const vb_device_vtable* vt, std::string_view config_json) {
  // ABI 1.1 vtables end at destroy; the network entries came in 1.2.
  if (vt == nullptr || vt->struct_size < offsetof(vb_device_vtable, frame_port)) {
    return std::unexpected(std::string("device vtable too small or missing"));
  }
  if (!vt->create || !vt->device_type || !vt->num_queues || !vt->queue_max_size || !vt->features ||
      !vt->ack_features || !vt->config_size || !vt->config_read || !vt->config_write ||
      !vt->activate || !vt->queue_notify || !vt->reset || !vt->destroy) {
    return std::unexpected(std::string("device vtable has a null entry"));
  }
  char message[512] = {};
  vb_error error{sizeof(vb_error), message, sizeof(message)};
  vb_device* raw = nullptr;
  const vb_status st = vt->create(config_json.data(), config_json.size(), &raw, &error);
  if (st != VB_OK || raw == nullptr) {
    return std::unexpected(std::string("device create failed: ") +
                           (message[0] ? message : "no message"));
  }
  std::unique_ptr<PluginDevice> dev(new PluginDevice(vt, raw));
  dev->device_type_ = vt->device_type(raw);
  dev->features_ = vt->features(raw);
  dev->config_size_ = vt->config_size(raw);
  const std::uint32_t n = vt->num_queues(raw);
  if (n == 0 || n > 64) return std::unexpected(std::string("device reports a bad queue count"));
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint16_t max = vt->queue_max_size(raw, i);
    if (max == 0 || !std::has_single_bit(max) || max > kMaxQueueSize) {
      return std::unexpected(std::string("device reports a bad queue size"));
    }
    dev->max_sizes_.push_back(max);
  }
  return dev;
}

PluginDevice::PluginDevice(const vb_device_vtable* vtable, vb_device* device)
    : vtable_(vtable), device_(device) {
  host_.struct_size = sizeof(host_);
  host_.ctx = this;
  host_.signal = &PluginDevice::on_signal;
}

PluginDevice::~PluginDevice() {
  vtable_->destroy(device_);
}

void PluginDevice::on_signal(void* ctx, std::uint32_t kind, std::uint32_t queue) {
  auto* self = static_cast<PluginDevice*>(ctx);
  Interrupt* irq = self->interrupt_;
  if (irq == nullptr) return;
  switch (kind) {
    case VB_DEVICE_SIGNAL_USED_QUEUE:
      irq->signal_used_queue(static_cast<std::uint16_t>(queue));
      break;
    case VB_DEVICE_SIGNAL_CONFIG_CHANGE:
      irq->signal_config_change();
      break;
    case VB_DEVICE_SIGNAL_NEEDS_RESET:
      irq->signal_needs_reset();
      break;
    default:
      break;
  }
}

void PluginDevice::ack_features(std::uint64_t features) {
  vtable_->ack_features(device_, features);
}

void PluginDevice::read_config(std::uint32_t offset, std::span<std::byte> out) const {
  if (vtable_->config_read(device_, offset, out.data(), out.size()) != VB_OK) {
    std::fill(out.begin(), out.end(), std::byte{0});
  }
}

void PluginDevice::write_config(std::uint32_t offset, std::span<const std::byte> in) {
  vtable_->config_write(device_, offset, in.data(), in.size());
}

std::expected<void, std::string> PluginDevice::activate(const ActivateParams& params) {
  std::vector<vb_guest_memory_region> regions;
  for (const auto& r : params.memory.regions()) {
    regions.push_back({r.guest_phys_addr, r.size, r.host});
  }
  std::vector<vb_queue_config> queues;
  for (const auto& q : params.queues) {
    vb_queue_config c{};
    c.struct_size = sizeof(c);
    c.size = q.size;
    c.ready = q.ready ? 1 : 0;
    c.desc_addr = q.desc_addr;
    c.avail_addr = q.avail_addr;
    c.used_addr = q.used_addr;
    queues.push_back(c);
  }
  vb_device_activation a{};
  a.struct_size = sizeof(a);
  a.regions = regions.data();
  a.num_regions = regions.size();
  a.queues = queues.data();
  a.num_queues = queues.size();
  a.driver_features = params.driver_features;
  a.host = &host_;
  interrupt_ = &params.interrupt;
  char message[512] = {};
  vb_error error{sizeof(vb_error), message, sizeof(message)};
  if (vtable_->activate(device_, &a, &error) != VB_OK) {
    vtable_->reset(device_);
    interrupt_ = nullptr;
    return std::unexpected(std::string(message[0] ? message : "device activation failed"));
  }
  return {};
}

void PluginDevice::queue_notify(std::uint16_t queue) {
  vtable_->queue_notify(device_, queue);
}

void PluginDevice::reset() {
  vtable_->reset(device_);
  interrupt_ = nullptr;
}

bool PluginDevice::has_frames() const {
  return vtable_->struct_size >= sizeof(vb_device_vtable) && vtable_->frame_port != nullptr &&
         vtable_->set_peer != nullptr && vtable_->frame_port(device_) != nullptr;
}

const vb_frame_port* PluginDevice::frame_port() const {
  return has_frames() ? vtable_->frame_port(device_) : nullptr;
}

void PluginDevice::set_peer(const vb_frame_port* peer) {
  if (has_frames()) vtable_->set_peer(device_, peer);
}

}  // namespace voidbox::virtio
