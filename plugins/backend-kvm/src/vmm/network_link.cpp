#include "network_link.hpp"

#include <vector>

namespace voidbox::kvm {
namespace {

constexpr const char* kNetDeviceType = "virtio-net";

std::string message_or(const char* message, const char* fallback) {
  return message[0] != '\0' ? std::string(message) : std::string(fallback);
}

}  // namespace

Result<std::unique_ptr<NetworkLink>> NetworkLink::create(const NetworkConfig& config,
                                                         const DeviceFactories& factories) {
  const auto device_it = factories.find(kNetDeviceType);
  if (device_it == factories.end()) {
    return fail(std::string("network: no device plugin provides \"") + kNetDeviceType +
                "\" (looked for libdevice-*.so in $VOIDBOX_PLUGIN_PATH and beside voidbox-vmm)");
  }
  const vb_transport_vtable* transport = factories.find_transport(config.transport);
  if (transport == nullptr) {
    return fail("network: no transport plugin provides \"" + config.transport +
                "\" (looked for libnet-*.so in $VOIDBOX_PLUGIN_PATH and beside voidbox-vmm)");
  }
  auto device = voidbox::virtio::PluginDevice::create(device_it->second, config.device_config_json);
  if (!device) return fail(std::string("network device: ") + device.error());
  const vb_frame_port* to_guest = (*device)->frame_port();
  if (to_guest == nullptr) {
    return fail(std::string("network: the \"") + kNetDeviceType +
                "\" plugin does not carry frames (its vtable lacks frame_port/set_peer)");
  }

  std::unique_ptr<NetworkLink> link(new NetworkLink());
  char message[512] = {};
  vb_error error{sizeof(vb_error), message, sizeof(message)};
  vb_transport* raw = nullptr;
  const vb_status status =
      transport->create(config.transport_config_json.data(), config.transport_config_json.size(),
                        to_guest, &raw, &error);
  if (status != VB_OK || raw == nullptr) {
    return fail("network transport \"" + config.transport +
                "\": " + message_or(message, "create failed without a message"));
  }
  link->transport_vtable_ = transport;
  link->transport_ = raw;
  const vb_frame_port* to_network = transport->port(raw);
  if (to_network == nullptr) {
    return fail("network transport \"" + config.transport + "\" has no frame port");
  }
  (*device)->set_peer(to_network);
  link->device_view_ = device->get();
  link->device_ = std::move(*device);
  return link;
}

NetworkLink::~NetworkLink() {
  voidbox::virtio::PluginDevice* device = device_ ? device_.get() : device_view_;
  if (device != nullptr) device->set_peer(nullptr);
  if (transport_ != nullptr) transport_vtable_->destroy(transport_);
}

Result<void> NetworkLink::start() {
  char message[512] = {};
  vb_error error{sizeof(vb_error), message, sizeof(message)};
  if (transport_vtable_->start(transport_, &error) != VB_OK) {
    return fail("network transport: " + message_or(message, "start failed without a message"));
  }
  return {};
}

std::string NetworkLink::describe() const {
  std::vector<char> buf(4096);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::size_t n = transport_vtable_->describe(transport_, buf.data(), buf.size());
    if (n < buf.size()) return std::string(buf.data(), n);
    if (n > (1u << 20)) break;  // a description this big is a plugin bug
    buf.resize(n + 1);
  }
  return "{}";
}

}  // namespace voidbox::kvm
