#include "runtime/mount_mapping.hpp"

#include <filesystem>
#include <system_error>

namespace voidbox::runtime {

namespace {

namespace fs = std::filesystem;

std::expected<void, std::string> check_guest_path(const std::string& guest) {
  if (guest.size() < 2 || guest.front() != '/') {
    return std::unexpected("guest path '" + guest + "' must be an absolute path other than /");
  }
  if (guest.find_first_of(" \t\n,") != std::string::npos) {
    return std::unexpected("guest path '" + guest + "' must not contain whitespace or commas");
  }
  for (const auto& part : fs::path(guest)) {
    if (part == "..") return std::unexpected("guest path '" + guest + "' must not contain '..'");
  }
  return {};
}

std::expected<std::string, std::string> host_dir(const spec::Mount& m) {
  if (m.host.empty()) return std::unexpected(std::string("a mount needs a host path"));
  std::error_code ec;
  const fs::path path = fs::absolute(m.host, ec).lexically_normal();
  if (ec) return std::unexpected("host path '" + m.host + "': " + ec.message());
  const auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    if (m.readonly) {
      return std::unexpected("read-only mount source " + path.string() + " does not exist");
    }
    fs::create_directories(path, ec);
    if (ec) return std::unexpected("cannot create " + path.string() + ": " + ec.message());
  } else if (ec) {
    return std::unexpected("host path " + path.string() + ": " + ec.message());
  } else if (st.type() != fs::file_type::directory) {
    return std::unexpected("mount source " + path.string() + " is not a directory");
  }
  std::string out = path.string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

std::expected<MountPlan, std::string> plan_mounts(const std::vector<spec::Mount>& mounts,
                                                  const std::vector<DiskAttachment>& disks) {
  if (mounts.size() + disks.size() > kMaxMounts) {
    return std::unexpected(
        "at most " + std::to_string(kMaxMounts) + " sandbox.mounts and disks together, got " +
        std::to_string(mounts.size()) + " mounts and " + std::to_string(disks.size()) + " disks");
  }
  MountPlan plan;
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const spec::Mount& m = mounts[i];
    const std::string where = "sandbox.mounts[" + std::to_string(i) + "]: ";
    if (auto ok = check_guest_path(m.guest); !ok) return std::unexpected(where + ok.error());
    auto host = host_dir(m);
    if (!host) return std::unexpected(where + host.error());
    const std::string tag = "voidbox" + std::to_string(i);
    boost::json::object config{{"tag", tag},
                               {"path", *host},
                               {"readonly", m.readonly},
                               {"owner_uid", kShareOwnerUid},
                               {"owner_gid", kShareOwnerGid}};
    const bool virtiofs = m.type == spec::MountType::virtiofs;
    plan.devices.push_back(boost::json::object{{"type", virtiofs ? "virtiofs" : "virtio-9p"},
                                               {"config", std::move(config)}});
    plan.guest_args.push_back("voidbox.mount" + std::to_string(i) + "=" + tag + "," + m.guest +
                              (m.readonly ? ",ro" : ",rw") + (virtiofs ? ",virtiofs" : ""));
  }
  for (std::size_t i = 0; i < disks.size(); ++i) {
    const DiskAttachment& d = disks[i];
    const std::string where = "disk " + d.image.string() + ": ";
    if (auto ok = check_guest_path(d.guest); !ok) return std::unexpected(where + ok.error());
    std::error_code ec;
    const fs::path image = fs::absolute(d.image, ec).lexically_normal();
    if (ec || !fs::is_regular_file(image, ec)) {
      return std::unexpected(where + "no such disk image (a regular file)");
    }
    const std::string serial = "vb-disk" + std::to_string(i);
    boost::json::object config{{"path", image.string()}, {"read_only", d.readonly}, {"id", serial}};
    plan.devices.push_back(
        boost::json::object{{"type", "virtio-blk"}, {"config", std::move(config)}});
    plan.guest_args.push_back("voidbox.disk" + std::to_string(i) + "=" + serial + "," + d.guest +
                              (d.readonly ? ",ro" : ",rw"));
  }
  return plan;
}

}  // namespace voidbox::runtime
