#include "agent/agent_disk.hpp"

#include <system_error>

namespace voidbox::agent {

namespace fs = std::filesystem;

std::expected<fs::path, std::string> find_agent_disk(Flavor flavor, const EnvLookup& env) {
  const std::string name = to_string(flavor);
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string variable = "VOIDBOX_AGENT_DISK_" + upper;
  std::error_code ec;
  if (auto set = env(variable); set && !set->empty()) {
    if (!fs::is_regular_file(*set, ec)) {
      return std::unexpected("$" + variable + " names " + *set + ", which is not a disk image");
    }
    return fs::path(*set);
  }
  fs::path cache;
  if (auto dir = env("VOIDBOX_CACHE_DIR"); dir && !dir->empty()) {
    cache = *dir;
  } else if (auto home = env("HOME"); home && !home->empty()) {
    cache = fs::path(*home) / ".cache/voidbox";
  } else {
    return std::unexpected("no " + name + " agent disk: neither $" + variable +
                           " nor $VOIDBOX_CACHE_DIR nor $HOME is set");
  }
  const fs::path dir = cache / "agents";
  fs::path best;
  fs::file_time_type best_time{};
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (!file.starts_with(name + "-") || !file.ends_with(".ext4")) continue;
    if (!it->is_regular_file(ec)) continue;
    const auto when = it->last_write_time(ec);
    if (!ec && (best.empty() || when > best_time)) {
      best = it->path();
      best_time = when;
    }
  }
  if (best.empty()) {
    return std::unexpected("no " + name + " agent disk in " + dir.string() +
                           ": build it with `voidbox image build " + name + "` (or set $" +
                           variable + ")");
  }
  return best;
}

}  // namespace voidbox::agent
