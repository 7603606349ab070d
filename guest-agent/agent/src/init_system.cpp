#include "init_system.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "log.hpp"
#include "voidbox/protocol/handshake.hpp"

namespace voidbox::agent {

namespace {

void mount_fs(const char* source, const char* target, const char* type, unsigned long flags,
              const char* data) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, flags, data) != 0 && errno != EBUSY)
    VB_LOG_WARN("mount %s on %s failed: %s", type, target, std::strerror(errno));
}

void make_owned_dir(const char* path, mode_t mode) {
  ::mkdir(path, mode);
  if (::chown(path, kSandboxUid, kSandboxGid) != 0)
    VB_LOG_WARN("chown %s failed: %s", path, std::strerror(errno));
}

}  // namespace

std::string read_text_file(const char* path, std::size_t max_bytes) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out.size() > max_bytes) out.resize(max_bytes);
  return out;
}

void init_system() {
  constexpr unsigned long kSafe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  // The kernel may start init without fds 0-2 (no /dev/console in the
  // initramfs); occupy them so no socket or pipe ever lands there.
  const int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    for (int fd = 0; fd <= 2; ++fd)
      if (fd != null_fd) ::dup2(null_fd, fd);
    if (null_fd > 2) ::close(null_fd);
  }
  log_init(LogSink::Kmsg, false);
  mount_fs("proc", "/proc", "proc", kSafe, nullptr);
  mount_fs("sysfs", "/sys", "sysfs", kSafe, nullptr);
  mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5");
  ::unlink("/dev/ptmx");
  if (::symlink("pts/ptmx", "/dev/ptmx") != 0)
    VB_LOG_WARN("symlink /dev/ptmx failed: %s", std::strerror(errno));
  mount_fs("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  ::mkdir("/home", 0755);
  make_owned_dir("/home/sandbox", 0755);
  make_owned_dir("/workspace", 0755);
  ::mkdir("/run", 0755);
  ::setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  ::setenv("HOME", "/root", 1);
  static constexpr char kHostname[] = "voidbox";
  ::sethostname(kHostname, sizeof kHostname - 1);
}

void set_clock_from_cmdline(std::string_view cmdline) {
  const auto value = protocol::cmdline_value(cmdline, protocol::kCmdlineClockKey);
  if (!value) return;
  char* end = nullptr;
  const long long epoch = std::strtoll(value->c_str(), &end, 10);
  if (end == value->c_str() || *end != '\0' || epoch <= 0) {
    VB_LOG_WARN("ignoring bad voidbox.clock=%s", value->c_str());
    return;
  }
  timespec ts{static_cast<time_t>(epoch), 0};
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0)
    VB_LOG_WARN("clock_settime failed: %s", std::strerror(errno));
}

void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();  // reboot() only returns on error; PID 1 must not exit
}

}  // namespace voidbox::agent
