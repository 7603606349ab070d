// OCI images as disks: `sandbox.image` (the guest's root) and OCI skills (a
// tree at a mount point). Each image is pulled through the image-source
// plugin only when its cache lacks it, and its ext4 disk is built once per
// manifest digest and then reused: attached read-only, it is shared by every
// VM booted on it and never written.
#pragma once

#include <boost/json/value.hpp>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/mount_mapping.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/sandbox.hpp"

namespace voidbox::runtime {

// The guest agent finds the root disk by this serial (voidbox.root=).
inline constexpr const char* kRootDiskSerial = "vb-root";

// What an image's config says commands start with.
struct ImageDefaults {
  std::map<std::string, std::string> env;  // config.Env ("K=V"; others skipped)
  std::string working_dir;                 // config.WorkingDir, absolute or ""
};

// From an OCI image config; fields of the wrong type are ignored.
ImageDefaults image_defaults(const boost::json::value& image_config);

// A sandbox's images resolved to disk files.
struct ResolvedImages {
  std::optional<std::filesystem::path> root;  // sandbox.image's disk
  std::vector<DiskAttachment> disks;          // every disk, OCI ones now with their file
  ImageDefaults defaults;                     // the root image's
};

// Resolves `config.image` and every disk with an `oci_image` through the
// registry's "oci" image source. Errors name the image and the reason.
std::expected<ResolvedImages, std::string> resolve_images(const SandboxConfig& config,
                                                          const plugin::Registry& registry);

// True when the config needs an image (a VM backend's job).
bool uses_images(const SandboxConfig& config);

// Adds the root disk to a planned VM: a read-only virtio-blk device with
// serial vb-root and the guest word voidbox.root=vb-root. It takes one of
// the kMaxMounts device slots that `used_slots` mounts and disks share.
std::expected<void, std::string> add_root_disk(MountPlan& plan, const std::filesystem::path& disk,
                                               std::size_t used_slots);

// The sandbox env with the image's under it (the spec's entries win).
std::map<std::string, std::string> env_over_image(const std::map<std::string, std::string>& env,
                                                  const ImageDefaults& image);

}  // namespace voidbox::runtime
