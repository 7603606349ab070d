#include "root_switch.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "init_system.hpp"
#include "log.hpp"
#include "shares.hpp"
#include "voidbox/protocol/handshake.hpp"

namespace voidbox::agent {

namespace {

constexpr const char* kRootKey = "voidbox.root";
constexpr const char* kStage = "/run/voidbox-root";
constexpr const char* kLower = "/run/voidbox-root/image";
constexpr const char* kScratch = "/run/voidbox-root/scratch";
constexpr const char* kNewRoot = "/run/voidbox-root/root";
// Moved, with whatever is mounted beneath them (/dev/pts, /dev/shm).
constexpr const char* kCarried[] = {"/dev", "/proc", "/sys", "/tmp"};
// A virtio-blk serial holds at most 20 bytes.
constexpr std::size_t kMaxSerial = 20;

bool valid_serial(std::string_view s) {
  if (s.empty() || s.size() > kMaxSerial) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Best effort: the image's own copies name another machine's resolver.
void copy_file(const std::string& from, const std::string& to) {
  const std::string text = read_text_file(from.c_str());
  if (text.empty()) return;
  ::unlink(to.c_str());
  const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    VB_LOG_WARN("cannot write %s: %s", to.c_str(), std::strerror(errno));
    return;
  }
  [[maybe_unused]] ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
}

void make_owned_dir(const std::string& path) {
  ::mkdir(path.c_str(), 0755);
  if (::chown(path.c_str(), kSandboxUid, kSandboxGid) != 0)
    VB_LOG_WARN("chown %s failed: %s", path.c_str(), std::strerror(errno));
}

// Mounts image, scratch and overlay; undone by the caller on failure.
std::string mount_layers(const std::string& node) {
  for (const char* dir : {"/run", kStage, kLower, kScratch, kNewRoot}) ::mkdir(dir, 0755);
  // noload: the disk is shared by concurrent VMs and must never be written,
  // not even by a journal replay.
  if (::mount(node.c_str(), kLower, "ext4", MS_RDONLY | MS_NODEV, "noload") != 0)
    return errno_text("mount " + node + " (ext4, read-only)");
  if (::mount("tmpfs", kScratch, "tmpfs", MS_NODEV, "mode=0755") != 0)
    return errno_text("mount the overlay's tmpfs");
  const std::string upper = std::string(kScratch) + "/upper";
  const std::string work = std::string(kScratch) + "/work";
  ::mkdir(upper.c_str(), 0755);
  ::mkdir(work.c_str(), 0755);
  const std::string options =
      std::string("lowerdir=") + kLower + ",upperdir=" + upper + ",workdir=" + work;
  // nosuid: commands run as the sandbox user, and the image's setuid
  // programs (su, passwd) must not undo that.
  if (::mount("overlay", kNewRoot, "overlay", MS_NOSUID, options.c_str()) != 0)
    return errno_text("mount the overlay (is the overlay module loaded?)");
  return {};
}

void unmount_layers() {
  ::umount2(kNewRoot, MNT_DETACH);
  ::umount2(kScratch, MNT_DETACH);
  ::umount2(kLower, MNT_DETACH);
}

void move_back(const std::vector<const char*>& moved) {
  for (const char* dir : moved) {
    const std::string from = std::string(kNewRoot) + dir;
    if (::mount(from.c_str(), dir, nullptr, MS_MOVE, nullptr) != 0)
      VB_LOG_ERROR("cannot move %s back: %s", dir, std::strerror(errno));
  }
}

// Moves the basic mounts into the new root; on failure moves back the
// ones already moved.
std::string carry_mounts() {
  std::vector<const char*> moved;
  for (const char* dir : kCarried) {
    const std::string target = std::string(kNewRoot) + dir;
    ::mkdir(target.c_str(), 0755);
    if (::mount(dir, target.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
      std::string error = errno_text(std::string("move ") + dir + " into the new root");
      move_back(moved);
      return error;
    }
    moved.push_back(dir);
  }
  return {};
}

// From within the new root (the current directory). pivot_root refuses when
// the old root is the initramfs (rootfs cannot be unmounted); then the new
// root is moved over it and entered by chroot, as switch_root(8) does.
std::string enter_new_root() {
  if (::syscall(SYS_pivot_root, ".", ".") == 0) {
    if (::umount2(".", MNT_DETACH) != 0)
      VB_LOG_WARN("detach the old root: %s", std::strerror(errno));
  } else if (errno == EINVAL) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
      return errno_text("move the new root onto /");
    if (::chroot(".") != 0) return errno_text("chroot into the new root");
  } else {
    return errno_text("pivot_root");
  }
  if (::chdir("/") != 0) return errno_text("chdir / in the new root");
  return {};
}

}  // namespace

RootRequest root_from_cmdline(std::string_view cmdline) {
  RootRequest out;
  const auto value = protocol::cmdline_value(cmdline, kRootKey);
  if (!value) return out;
  if (!valid_serial(*value)) {
    out.error = std::string(kRootKey) + "=" + value->substr(0, 64) +
                ": expected a disk serial (at most 20 of A-Z a-z 0-9 _ - .)";
    return out;
  }
  out.serial = *value;
  return out;
}

std::string switch_to_disk_root(const std::string& serial, const std::string& sys_block) {
  const std::string dev = wait_for_block_device(sys_block, serial);
  if (dev.empty()) return "root disk " + serial + ": no virtio-blk disk with this serial";
  if (std::string error = mount_layers("/dev/" + dev); !error.empty()) {
    unmount_layers();
    return "root disk " + serial + ": " + error;
  }
  // The network's files were written to the old /etc before the switch.
  const std::string etc = std::string(kNewRoot) + "/etc";
  ::mkdir(etc.c_str(), 0755);
  copy_file("/etc/resolv.conf", etc + "/resolv.conf");
  copy_file("/etc/hosts", etc + "/hosts");
  for (const char* dir : {"/home", "/run"}) ::mkdir((std::string(kNewRoot) + dir).c_str(), 0755);
  make_owned_dir(std::string(kNewRoot) + "/home/sandbox");
  make_owned_dir(std::string(kNewRoot) + "/workspace");

  if (std::string error = carry_mounts(); !error.empty()) {
    unmount_layers();
    return "root disk " + serial + ": " + error;
  }
  std::string error =
      ::chdir(kNewRoot) == 0 ? enter_new_root() : errno_text("chdir into the new root");
  if (!error.empty()) {
    // Only reached before the root changed: put the old one back together.
    if (::chdir("/") != 0) VB_LOG_ERROR("chdir /: %s", std::strerror(errno));
    move_back({std::begin(kCarried), std::end(kCarried)});
    unmount_layers();
    return "root disk " + serial + ": " + error;
  }
  VB_LOG_INFO("root is disk %s (/dev/%s) under a tmpfs overlay", serial.c_str(), dev.c_str());
  return {};
}

}  // namespace voidbox::agent
