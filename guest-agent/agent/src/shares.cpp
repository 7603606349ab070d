#include "shares.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "log.hpp"
#include "voidbox/protocol/handshake.hpp"

namespace voidbox::agent {

namespace {

bool valid_tag(std::string_view tag) {
  // 31 bytes for a 9p tag, 36 for a virtio-fs one.
  if (tag.empty() || tag.size() > 36) return false;
  for (char c : tag) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool valid_path(std::string_view path) {
  if (path.size() < 2 || path.front() != '/' || path.size() > 1024) return false;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (path.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

// mkdir -p; errno of the first failure other than EEXIST.
int make_dirs(const std::string& path) {
  for (std::size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    const std::string prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

ShareList words_from_cmdline(std::string_view cmdline, const std::string& prefix) {
  ShareList out;
  for (int i = 0; i < kMaxShares; ++i) {
    const std::string key = prefix + std::to_string(i);
    const auto value = protocol::cmdline_value(cmdline, key);
    if (!value) continue;
    const std::size_t a = value->find(',');
    const std::size_t b = a == std::string::npos ? a : value->find(',', a + 1);
    Share s;
    std::string mode;
    std::string kind;
    if (b != std::string::npos) {
      s.tag = value->substr(0, a);
      s.path = value->substr(a + 1, b - a - 1);
      mode = value->substr(b + 1);
      if (const std::size_t c = mode.find(','); c != std::string::npos) {
        kind = mode.substr(c + 1);
        mode.resize(c);
      }
    }
    if (!valid_tag(s.tag) || !valid_path(s.path) || (mode != "ro" && mode != "rw") ||
        (!kind.empty() && kind != "virtiofs")) {
      out.errors.push_back(key + "=" + *value +
                           ": expected <tag>,<absolute path>,ro|rw[,virtiofs]");
      continue;
    }
    s.virtiofs = kind == "virtiofs";
    s.readonly = mode == "ro";
    out.shares.push_back(std::move(s));
  }
  return out;
}

std::string read_small_file(const std::string& path) {
  char buf[64];
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return {};
  std::string out(buf, static_cast<std::size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

ShareList shares_from_cmdline(std::string_view cmdline) {
  return words_from_cmdline(cmdline, "voidbox.mount");
}

ShareList disks_from_cmdline(std::string_view cmdline) {
  return words_from_cmdline(cmdline, "voidbox.disk");
}

std::string block_device_with_serial(const std::string& sys_block, const std::string& serial) {
  DIR* dir = ::opendir(sys_block.c_str());
  if (dir == nullptr) return {};
  std::string found;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() < 3 || name.compare(0, 2, "vd") != 0) continue;
    if (read_small_file(sys_block + "/" + name + "/serial") == serial) {
      found = name;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

std::string wait_for_block_device(const std::string& sys_block, const std::string& serial) {
  // virtio_blk registers its disks while it probes at module load; a short
  // wait covers a probe still in flight.
  std::string dev;
  for (int attempt = 0; attempt < 40 && dev.empty(); ++attempt) {
    dev = block_device_with_serial(sys_block, serial);
    if (dev.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return dev;
}

std::vector<std::string> mount_shares(const std::vector<Share>& shares) {
  std::vector<std::string> errors;
  for (const Share& s : shares) {
    const std::string where = s.tag + " on " + s.path + ": ";
    if (int e = make_dirs(s.path); e != 0) {
      errors.push_back(where + "cannot create the mount point: " + std::strerror(e));
      continue;
    }
    const unsigned long flags = MS_NOSUID | MS_NODEV | (s.readonly ? MS_RDONLY : 0);
    int rc = -1;
    // Both transports register their tags while their drivers probe the
    // virtio devices at module load: a tag not (yet) there is ENOENT for 9p
    // and EINVAL for virtio-fs.
    const int not_yet = s.virtiofs ? EINVAL : ENOENT;
    for (int attempt = 0; attempt < 20; ++attempt) {
      rc = s.virtiofs ? ::mount(s.tag.c_str(), s.path.c_str(), "virtiofs", flags, "")
                      : ::mount(s.tag.c_str(), s.path.c_str(), "9p", flags, kShareMountOptions);
      if (rc == 0 || errno != not_yet) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (rc != 0) {
      const int e = errno;
      errors.push_back(where + "mount failed: " + std::strerror(e) +
                       (e == not_yet ? (s.virtiofs ? " (no virtio-fs device with this tag)"
                                                   : " (no virtio-9p device with this tag)")
                                     : ""));
      VB_LOG_ERROR("share %s", errors.back().c_str());
      continue;
    }
    VB_LOG_INFO("share %s mounted on %s (%s, %s)", s.tag.c_str(), s.path.c_str(),
                s.readonly ? "ro" : "rw", s.virtiofs ? "virtiofs" : "9p");
  }
  return errors;
}

std::vector<std::string> mount_disks(const std::vector<Share>& disks,
                                     const std::string& sys_block) {
  std::vector<std::string> errors;
  for (const Share& d : disks) {
    const std::string where = "disk " + d.tag + " on " + d.path + ": ";
    if (int e = make_dirs(d.path); e != 0) {
      errors.push_back(where + "cannot create the mount point: " + std::strerror(e));
      continue;
    }
    const std::string dev = wait_for_block_device(sys_block, d.tag);
    if (dev.empty()) {
      errors.push_back(where + "no virtio-blk disk with this serial");
      VB_LOG_ERROR("%s", errors.back().c_str());
      continue;
    }
    const std::string node = "/dev/" + dev;
    const unsigned long flags = MS_NOSUID | MS_NODEV | (d.readonly ? MS_RDONLY : 0);
    // noload: a read-only disk's journal is never replayed (it cannot be written).
    if (::mount(node.c_str(), d.path.c_str(), "ext4", flags, d.readonly ? "noload" : "") != 0) {
      errors.push_back(where + "mount of " + node + " failed: " + std::strerror(errno));
      VB_LOG_ERROR("%s", errors.back().c_str());
      continue;
    }
    VB_LOG_INFO("disk %s (%s) mounted on %s (%s)", d.tag.c_str(), node.c_str(), d.path.c_str(),
                d.readonly ? "ro" : "rw");
  }
  return errors;
}

}  // namespace voidbox::agent
