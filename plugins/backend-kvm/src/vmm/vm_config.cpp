#include "vm_config.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace voidbox::kvm {
namespace {

namespace json = boost::json;

// Stock-kernel boot quirks: no PCI probing, no i8042/CMOS probing (each probe
// is a slow port exit), no KASLR (fixed load address), reboot via i8042,
// reboot at once on panic so the VMM sees it, no port-0x80 I/O delays.
constexpr std::string_view kBaseCmdline =
    "console=ttyS0 quiet reboot=k panic=-1 nokaslr pci=off io_delay=none "
    "i8042.noaux i8042.nokbd i8042.nopnp i8042.dumbkbd initcall_blacklist=cmos_init,i8042_init";

Result<std::string> get_string(const json::object& o, std::string_view key, bool required) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) return fail("VM config: missing \"" + std::string(key) + "\"");
    return std::string();
  }
  if (!v->is_string()) return fail("VM config: \"" + std::string(key) + "\" must be a string");
  return std::string(v->as_string());
}

Result<std::uint64_t> get_uint(const json::object& o, std::string_view key, std::uint64_t fallback,
                               std::uint64_t lo, std::uint64_t hi) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  std::uint64_t n = 0;
  if (v->is_int64() && v->as_int64() >= 0) {
    n = static_cast<std::uint64_t>(v->as_int64());
  } else if (v->is_uint64()) {
    n = v->as_uint64();
  } else {
    return fail("VM config: \"" + std::string(key) + "\" must be a non-negative integer");
  }
  if (n < lo || n > hi) {
    return fail("VM config: \"" + std::string(key) + "\" must be between " + std::to_string(lo) +
                " and " + std::to_string(hi) + ", got " + std::to_string(n));
  }
  return n;
}

// `true`/`false`, or an object (enabled) naming the transport and carrying
// the device's and the transport's own configs.
Result<NetworkConfig> parse_network(const json::value& v) {
  NetworkConfig n;
  if (v.is_bool()) {
    n.enabled = v.as_bool();
    return n;
  }
  if (!v.is_object()) return fail("VM config: \"network\" must be a boolean or an object");
  const auto& o = v.as_object();
  n.enabled = true;
  for (const auto& [key, value] : o) {
    if (key == "transport") {
      if (!value.is_string() || value.as_string().empty()) {
        return fail("VM config: \"network.transport\" must be a non-empty string");
      }
      n.transport = std::string(value.as_string());
    } else if (key == "transport_config" || key == "device_config") {
      if (!value.is_object()) {
        return fail("VM config: \"network." + std::string(key) + "\" must be an object");
      }
      (key == "transport_config" ? n.transport_config_json : n.device_config_json) =
          json::serialize(value);
    }
  }
  return n;
}

}  // namespace

Result<VmConfig> parse_vm_config(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return fail("VM config is not valid JSON: " + ec.message());
  if (!root.is_object()) return fail("VM config must be a JSON object");
  const auto& o = root.as_object();
  VmConfig c;
#define VB_TRY_ASSIGN(dst, expr)                 \
  do {                                           \
    auto r_ = (expr);                            \
    if (!r_) return std::unexpected(r_.error()); \
    dst = std::move(*r_);                        \
  } while (0)
  std::string name;
  VB_TRY_ASSIGN(name, get_string(o, "name", false));
  if (!name.empty()) c.name = name;
  VB_TRY_ASSIGN(c.kernel, get_string(o, "kernel", true));
  VB_TRY_ASSIGN(c.initramfs, get_string(o, "initramfs", false));
  VB_TRY_ASSIGN(c.cmdline, get_string(o, "cmdline", false));
  VB_TRY_ASSIGN(c.state_dir, get_string(o, "state_dir", true));
  VB_TRY_ASSIGN(c.serial_log, get_string(o, "serial_log", false));
  VB_TRY_ASSIGN(c.memory_dump, get_string(o, "memory_dump", false));
  VB_TRY_ASSIGN(c.memory_mb, get_uint(o, "memory_mb", 512, 64, 64 * 1024));
  std::uint64_t n = 0;
  VB_TRY_ASSIGN(n, get_uint(o, "vcpus", 1, 1, 64));
  c.vcpus = static_cast<std::uint32_t>(n);
  VB_TRY_ASSIGN(n, get_uint(o, "vsock_cid", 3, 3, 0xfffffffeu));
  c.vsock_cid = static_cast<std::uint32_t>(n);
  if (const auto* v = o.if_contains("network"); v != nullptr && !v->is_null()) {
    auto network = parse_network(*v);
    if (!network) return std::unexpected(network.error());
    c.network = std::move(*network);
  }
  std::string path;
  VB_TRY_ASSIGN(path, get_string(o, "device_path", false));
  if (path == "sync") {
    c.device_path = DevicePath::kSync;
  } else if (path == "event") {
    c.device_path = DevicePath::kEvent;
  } else if (path == "ioeventfd") {
    c.device_path = DevicePath::kIoeventfd;
  } else if (!path.empty() && path != "auto") {
    return fail(
        "VM config: \"device_path\" must be \"auto\", \"sync\", \"event\" or \"ioeventfd\"");
  }
#undef VB_TRY_ASSIGN
  if (const auto* v = o.if_contains("guest_args"); v != nullptr && !v->is_null()) {
    if (!v->is_array()) return fail("VM config: \"guest_args\" must be an array of strings");
    for (const auto& a : v->as_array()) {
      if (!a.is_string()) return fail("VM config: \"guest_args\" must be an array of strings");
      std::string word(a.as_string());
      if (word.find_first_of(" \t\n") != std::string::npos || word.empty()) {
        return fail("VM config: guest_args word \"" + word + "\" is empty or contains whitespace");
      }
      c.guest_args.push_back(std::move(word));
    }
  }
  if (const auto* v = o.if_contains("devices"); v != nullptr && !v->is_null()) {
    if (!v->is_array()) return fail("VM config: \"devices\" must be an array");
    for (const auto& d : v->as_array()) {
      if (!d.is_object() || !d.as_object().contains("type") ||
          !d.as_object().at("type").is_string()) {
        return fail("VM config: each device needs a string \"type\"");
      }
      DeviceConfig dc;
      dc.type = std::string(d.as_object().at("type").as_string());
      const auto* cfg = d.as_object().if_contains("config");
      dc.config_json = cfg != nullptr ? json::serialize(*cfg) : "{}";
      c.devices.push_back(std::move(dc));
    }
  }
  if (c.cmdline.find('\n') != std::string::npos)
    return fail("VM config: cmdline contains a newline");
  return c;
}

Result<VmConfig> load_vm_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read VM config " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (1u << 20)) return fail("VM config " + path + " is larger than 1 MiB");
  return parse_vm_config(ss.str());
}

std::string kernel_cmdline(const VmConfig& config) {
  std::string out(kBaseCmdline);
  if (!config.cmdline.empty()) out += " " + config.cmdline;
  for (const auto& w : config.guest_args) out += " " + w;
  return out;
}

}  // namespace voidbox::kvm
