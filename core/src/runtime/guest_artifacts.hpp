// Finds the kernel and initramfs a VM boots.
//
// Each is taken from the first of: the explicit path (spec field or flag);
// $VOID_BOX_KERNEL / $VOID_BOX_INITRAMFS; the user cache
// ${XDG_CACHE_HOME:-~/.cache}/voidbox/ (kernels/<version>/vmlinux, else
// vmlinuz, from scripts/fetch-kernel.sh; images/ from
// scripts/build-guest-image.sh); the
// install directory <datadir>/voidbox/. An initramfs built for one cached
// kernel version is paired with that kernel.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace voidbox::runtime {

struct GuestArtifacts {
  std::string kernel;
  std::string initramfs;
  std::string kernel_origin;  // "spec", "VOID_BOX_KERNEL", "cache", "install"
  std::string initramfs_origin;
};

struct ArtifactRequest {
  std::optional<std::string> kernel;
  std::optional<std::string> initramfs;
};

// On failure the message names what is missing, every place looked at, and
// the scripts that produce the artifact.
std::expected<GuestArtifacts, std::string> resolve_guest_artifacts(const ArtifactRequest& request);

// ${XDG_CACHE_HOME:-$HOME/.cache}/voidbox
std::string voidbox_cache_dir();

// The newest kernel scripts/fetch-kernel.sh left in `kernels_dir`
// (<version>/vmlinuz), as the uncompressed <version>/vmlinux beside it when
// there is one. Directories starting with "." are fetches in progress.
std::optional<std::filesystem::path> newest_cached_kernel(const std::filesystem::path& kernels_dir);

// The newest initramfs in `images_dir` or one level down.
std::optional<std::filesystem::path> newest_cached_initramfs(
    const std::filesystem::path& images_dir);

}  // namespace voidbox::runtime
