#include "runtime/image_disks.hpp"

#include <boost/json.hpp>

#include "images/image_source.hpp"

namespace voidbox::runtime {

namespace {

namespace json = boost::json;

struct ImageDisk {
  std::filesystem::path path;
  json::value config;
};

// The cache first: a cached tag is not looked up again (as `docker run`
// does), so a run needs no registry once its images are there.
std::expected<ImageDisk, std::string> image_disk(images::ImageSource& source,
                                                 const std::string& ref) {
  auto disk = source.build_rootfs_disk(ref);
  if (!disk && disk.error().status == VB_ERR_NOT_FOUND) {
    auto pulled = source.pull(ref, "", {});
    if (!pulled)
      return std::unexpected("image " + ref + ": pull failed: " + pulled.error().message);
    disk = source.build_rootfs_disk(ref);
  }
  if (!disk) {
    return std::unexpected("image " + ref + ": cannot make its disk: " + disk.error().message);
  }
  const auto* object = disk->if_object();
  const auto* path = object ? object->if_contains("path") : nullptr;
  if (path == nullptr || !path->is_string() || path->as_string().empty()) {
    return std::unexpected("image " + ref + ": the image source returned no disk path");
  }
  ImageDisk out{std::string(path->as_string()), {}};
  if (const auto* config = object->if_contains("config")) out.config = *config;
  return out;
}

}  // namespace

ImageDefaults image_defaults(const json::value& image_config) {
  ImageDefaults out;
  const auto* top = image_config.if_object();
  const auto* inner = top ? top->if_contains("config") : nullptr;
  const auto* config = inner ? inner->if_object() : nullptr;
  if (config == nullptr) return out;
  if (const auto* env = config->if_contains("Env"); env && env->is_array()) {
    for (const auto& entry : env->as_array()) {
      if (!entry.is_string()) continue;
      const std::string_view text = entry.as_string();
      const std::size_t eq = text.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      out.env[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
    }
  }
  if (const auto* dir = config->if_contains("WorkingDir"); dir && dir->is_string()) {
    const std::string_view text = dir->as_string();
    if (!text.empty() && text.front() == '/') out.working_dir = std::string(text);
  }
  return out;
}

bool uses_images(const SandboxConfig& config) {
  if (config.image) return true;
  for (const auto& d : config.disks) {
    if (!d.oci_image.empty()) return true;
  }
  return false;
}

std::expected<ResolvedImages, std::string> resolve_images(const SandboxConfig& config,
                                                          const plugin::Registry& registry) {
  ResolvedImages out;
  out.disks = config.disks;
  if (!uses_images(config)) return out;
  auto source = images::ImageSource::create(registry, "oci", "{}");
  if (!source) return std::unexpected(source.error().message);
  if (config.image) {
    if (config.image->empty()) return std::unexpected(std::string("sandbox.image is empty"));
    auto root = image_disk(**source, *config.image);
    if (!root) return std::unexpected("sandbox.image: " + root.error());
    out.root = std::move(root->path);
    out.defaults = image_defaults(root->config);
  }
  for (auto& d : out.disks) {
    if (d.oci_image.empty()) continue;
    auto disk = image_disk(**source, d.oci_image);
    if (!disk) return std::unexpected("OCI skill at " + d.guest + ": " + disk.error());
    d.image = std::move(disk->path);
    // The cached disk is shared by every VM on the image.
    d.readonly = true;
  }
  return out;
}

std::expected<void, std::string> add_root_disk(MountPlan& plan, const std::filesystem::path& disk,
                                               std::size_t used_slots) {
  if (used_slots + 1 > kMaxMounts) {
    return std::unexpected(
        "sandbox.image takes a device slot: at most " + std::to_string(kMaxMounts - 1) +
        " sandbox.mounts and disks together with it, got " + std::to_string(used_slots));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(disk, ec)) {
    return std::unexpected("sandbox.image: no disk image at " + disk.string());
  }
  json::object config{{"path", disk.string()}, {"read_only", true}, {"id", kRootDiskSerial}};
  plan.devices.push_back(json::object{{"type", "virtio-blk"}, {"config", std::move(config)}});
  plan.guest_args.push_back(std::string("voidbox.root=") + kRootDiskSerial);
  return {};
}

std::map<std::string, std::string> env_over_image(const std::map<std::string, std::string>& env,
                                                  const ImageDefaults& image) {
  std::map<std::string, std::string> out = env;
  for (const auto& [k, v] : image.env) out.emplace(k, v);
  return out;
}

}  // namespace voidbox::runtime
