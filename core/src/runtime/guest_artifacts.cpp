#include "runtime/guest_artifacts.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace voidbox::runtime {
namespace {

namespace fs = std::filesystem;

#ifndef VOIDBOX_GUEST_INSTALL_DIR
#define VOIDBOX_GUEST_INSTALL_DIR "/usr/share/voidbox"
#endif

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

fs::file_time_type mtime(const fs::path& p) {
  std::error_code ec;
  auto t = fs::last_write_time(p, ec);
  return ec ? fs::file_time_type::min() : t;
}

bool looks_like_initramfs(const fs::path& p) {
  std::string name = p.filename().string();
  return name.find("initramfs") != std::string::npos || name.ends_with(".cpio") ||
         name.ends_with(".cpio.gz") || name.ends_with(".cpio.zst") || name.ends_with(".cpio.xz");
}

// A cached kernel directory holds vmlinuz (the bzImage) and, extracted from
// it by scripts/fetch-kernel.sh, vmlinux: the same kernel uncompressed. The
// vmlinux boots faster, since the guest skips decompressing itself (seconds
// under emulation, tens of milliseconds on hardware).
fs::path bootable_kernel(const fs::path& version_dir) {
  if (is_file(version_dir / "vmlinux")) return version_dir / "vmlinux";
  return version_dir / "vmlinuz";
}

}  // namespace

std::optional<fs::path> newest_cached_initramfs(const fs::path& dir) {
  std::optional<fs::path> best;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() > 1) {
      it.disable_recursion_pending();
      continue;
    }
    // Hidden names are images still being written (scripts/build-guest-image.sh).
    if (it->path().filename().string().starts_with(".")) continue;
    if (!it->is_regular_file(ec) || !looks_like_initramfs(it->path())) continue;
    if (!best || mtime(it->path()) > mtime(*best)) best = it->path();
  }
  return best;
}

std::optional<fs::path> newest_cached_kernel(const fs::path& dir) {
  std::optional<fs::path> best;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(".")) continue;  // in-progress fetches
    if (!is_file(it->path() / "vmlinuz")) continue;
    fs::path candidate = bootable_kernel(it->path());
    if (!best || mtime(candidate) > mtime(*best)) best = candidate;
  }
  return best;
}

std::string voidbox_cache_dir() {
  if (auto xdg = env("XDG_CACHE_HOME")) return *xdg + "/voidbox";
  if (auto home = env("HOME")) return *home + "/.cache/voidbox";
  return "/tmp/voidbox-cache";
}

std::expected<GuestArtifacts, std::string> resolve_guest_artifacts(const ArtifactRequest& request) {
  GuestArtifacts out;
  const fs::path cache = voidbox_cache_dir();
  const fs::path install = VOIDBOX_GUEST_INSTALL_DIR;
  std::string missing;

  // Initramfs first: an image built for a cached kernel version picks it.
  if (request.initramfs) {
    out.initramfs = *request.initramfs;
    out.initramfs_origin = "spec";
  } else if (auto e = env("VOID_BOX_INITRAMFS")) {
    out.initramfs = *e;
    out.initramfs_origin = "VOID_BOX_INITRAMFS";
  } else if (auto img = newest_cached_initramfs(cache / "images")) {
    out.initramfs = img->string();
    out.initramfs_origin = "cache";
  } else if (auto inst = newest_cached_initramfs(install / "images")) {
    out.initramfs = inst->string();
    out.initramfs_origin = "install";
  }

  if (request.kernel) {
    out.kernel = *request.kernel;
    out.kernel_origin = "spec";
  } else if (auto e = env("VOID_BOX_KERNEL")) {
    out.kernel = *e;
    out.kernel_origin = "VOID_BOX_KERNEL";
  } else {
    if (!out.initramfs.empty()) {
      // images/<kernel-version>/... pairs with kernels/<kernel-version>/vmlinuz
      const fs::path version_dir =
          cache / "kernels" / fs::path(out.initramfs).parent_path().filename();
      fs::path paired = bootable_kernel(version_dir);
      if (is_file(version_dir / "vmlinuz")) {
        out.kernel = paired.string();
        out.kernel_origin = "cache";
      }
    }
    if (out.kernel.empty()) {
      if (auto k = newest_cached_kernel(cache / "kernels")) {
        out.kernel = k->string();
        out.kernel_origin = "cache";
      } else if (is_file(install / "vmlinuz")) {
        out.kernel = (install / "vmlinuz").string();
        out.kernel_origin = "install";
      }
    }
  }

  if (out.kernel.empty()) {
    missing +=
        "no guest kernel: set sandbox.kernel or VOID_BOX_KERNEL, or run "
        "scripts/fetch-kernel.sh (looked in " +
        (cache / "kernels").string() + "/<version>/vmlinuz and " + (install / "vmlinuz").string() +
        ")";
  } else if (!is_file(out.kernel)) {
    missing += "guest kernel " + out.kernel + " (from " + out.kernel_origin + ") does not exist";
  }
  if (out.initramfs.empty()) {
    if (!missing.empty()) missing += "; ";
    missing +=
        "no guest initramfs: set sandbox.initramfs or VOID_BOX_INITRAMFS, or run "
        "scripts/build-guest-image.sh (looked in " +
        (cache / "images").string() + " and " + (install / "images").string() + ")";
  } else if (!is_file(out.initramfs)) {
    if (!missing.empty()) missing += "; ";
    missing +=
        "guest initramfs " + out.initramfs + " (from " + out.initramfs_origin + ") does not exist";
  }
  if (!missing.empty()) return std::unexpected(missing);
  return out;
}

}  // namespace voidbox::runtime
