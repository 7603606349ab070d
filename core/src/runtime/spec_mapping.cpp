#include "runtime/spec_mapping.hpp"

#include <cstdlib>

namespace voidbox::runtime {

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::map<std::string, std::string> resolve_env(const std::map<std::string, std::string>& env,
                                               const HostEnv& host) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : env) {
    if (!v.empty()) {
      out[k] = v;
    } else if (auto value = host(k)) {
      out[k] = *value;
    }
  }
  return out;
}

SandboxConfig sandbox_config_for(const spec::RunSpec& spec, const HostEnv& host) {
  SandboxConfig c;
  c.name = spec.name.value_or("run");
  c.mode = spec.sandbox.mode;
  c.kernel = spec.sandbox.kernel;
  c.initramfs = spec.sandbox.initramfs;
  c.memory_mb = spec.sandbox.memory_mb;
  c.vcpus = spec.sandbox.vcpus;
  c.network = spec.sandbox.network;
  if (auto upstream = host("VOIDBOX_DNS_UPSTREAM"); upstream && !upstream->empty()) {
    c.dns_upstream = *upstream;
  }
  if (auto dir = host("VOIDBOX_MEMORY_DUMP_DIR"); dir && !dir->empty()) c.memory_dump_dir = *dir;
  c.env = resolve_env(spec.sandbox.env, host);
  c.mounts = spec.sandbox.mounts;
  c.image = spec.sandbox.image;
  return c;
}

std::vector<std::string> unsupported_sandbox_fields(const spec::Sandbox& sandbox) {
  std::vector<std::string> warnings;
  if (sandbox.snapshot) warnings.emplace_back("sandbox.snapshot is not supported yet; ignored");
  if (sandbox.guest_image && !sandbox.guest_image->empty()) {
    warnings.emplace_back("sandbox.guest_image is not supported yet; ignored");
  }
  return warnings;
}

}  // namespace voidbox::runtime
