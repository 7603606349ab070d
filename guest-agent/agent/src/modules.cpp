#include "modules.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "log.hpp"

namespace voidbox::agent {

namespace {

constexpr std::size_t kMaxModuleSize = 64u << 20;

std::string normalize(std::string_view name) {
  std::string s(name);
  for (auto& c : s)
    if (c == '-') c = '_';
  return s;
}

template <class T>
bool read_at(std::string_view bytes, std::uint64_t off, T& out) {
  if (off > bytes.size() || bytes.size() - off < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + off, sizeof(T));
  return true;
}

}  // namespace

std::string module_name_from_path(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash != std::string_view::npos) path = path.substr(slash + 1);
  const auto ko = path.find(".ko");
  if (ko != std::string_view::npos) path = path.substr(0, ko);
  return normalize(path);
}

std::expected<ModuleInfo, std::string> parse_modinfo(std::string_view elf) {
  Elf64_Ehdr eh;
  if (!read_at(elf, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return std::unexpected("not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return std::unexpected("not a 64-bit little-endian ELF file");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
    return std::unexpected("bad section header table");
  auto section = [&](std::size_t i, Elf64_Shdr& sh) {
    return read_at(elf, eh.e_shoff + i * sizeof(Elf64_Shdr), sh);
  };
  Elf64_Shdr names;
  if (!section(eh.e_shstrndx, names) || names.sh_offset > elf.size() ||
      names.sh_size > elf.size() - names.sh_offset)
    return std::unexpected("bad section name table");
  const std::string_view strtab = elf.substr(names.sh_offset, names.sh_size);
  for (std::size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    if (!section(i, sh)) return std::unexpected("truncated section headers");
    if (sh.sh_name >= strtab.size()) continue;
    const std::string_view name = strtab.substr(sh.sh_name);
    if (name.substr(0, name.find('\0')) != ".modinfo") continue;
    if (sh.sh_offset > elf.size() || sh.sh_size > elf.size() - sh.sh_offset)
      return std::unexpected(".modinfo outside the file");
    ModuleInfo info;
    std::string_view data = elf.substr(sh.sh_offset, sh.sh_size);
    while (!data.empty()) {
      const auto end = data.find('\0');
      const std::string_view entry = data.substr(0, end);
      if (entry.starts_with("name=")) info.name = normalize(entry.substr(5));
      if (entry.starts_with("depends=")) {
        std::string_view deps = entry.substr(8);
        while (!deps.empty()) {
          const auto comma = deps.find(',');
          const auto d = deps.substr(0, comma);
          if (!d.empty()) info.depends.push_back(normalize(d));
          if (comma == std::string_view::npos) break;
          deps = deps.substr(comma + 1);
        }
      }
      if (end == std::string_view::npos) break;
      data = data.substr(end + 1);
    }
    return info;
  }
  return std::unexpected("no .modinfo section");
}

std::expected<std::vector<ModuleInfo>, std::string> order_modules(
    const std::vector<ModuleInfo>& modules) {
  std::map<std::string, const ModuleInfo*> by_name;
  for (const auto& m : modules) by_name.emplace(m.name, &m);
  std::vector<ModuleInfo> order;
  std::map<std::string, int> state;  // 1 = visiting, 2 = done
  std::string error;
  std::function<bool(const std::string&)> visit = [&](const std::string& name) {
    auto it = by_name.find(name);
    if (it == by_name.end()) return true;  // built in, or not shipped
    int& st = state[name];
    if (st == 2) return true;
    if (st == 1) {
      error = "module dependency cycle at " + name;
      return false;
    }
    st = 1;
    for (const auto& d : it->second->depends)
      if (!visit(d)) return false;
    state[name] = 2;
    order.push_back(*it->second);
    return true;
  };
  for (const auto& [name, m] : by_name)
    if (!visit(name)) return std::unexpected(error);
  return order;
}

std::string module_params_from_cmdline(std::string_view cmdline, std::string_view module) {
  std::string params;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    const auto start = cmdline.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    auto end = cmdline.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = cmdline.size();
    const std::string_view word = cmdline.substr(start, end - start);
    const auto dot = word.find('.');
    const auto eq = word.find('=');
    if (dot != std::string_view::npos && (eq == std::string_view::npos || dot < eq) &&
        normalize(word.substr(0, dot)) == module) {
      if (!params.empty()) params += ' ';
      params += word.substr(dot + 1);
    }
    pos = end;
  }
  return params;
}

LoadReport load_modules_from(const std::string& dir, std::string_view cmdline) {
  LoadReport report;
  std::vector<ModuleInfo> mods;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    if (!it->is_regular_file() || p.extension() != ".ko") continue;
    const auto size = std::filesystem::file_size(p, ec);
    if (ec || size > kMaxModuleSize) {
      report.failed.push_back(p.string() + ": unreadable or larger than 64 MiB");
      ec.clear();
      continue;
    }
    std::ifstream in(p, std::ios::binary);
    std::string bytes;
    bytes.resize(static_cast<std::size_t>(size));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    auto info = parse_modinfo(bytes);
    if (!info) {
      report.failed.push_back(p.string() + ": " + info.error());
      continue;
    }
    if (info->name.empty()) info->name = module_name_from_path(p.string());
    info->path = p.string();
    mods.push_back(std::move(*info));
  }
  auto order = order_modules(mods);
  if (!order) {
    report.failed.push_back(order.error());
    return report;
  }
  for (const auto& m : *order) {
    if (std::filesystem::exists("/sys/module/" + m.name + "/initstate")) {
      ++report.already;
      continue;
    }
    const int fd = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      report.failed.push_back(m.name + ": open: " + std::strerror(errno));
      continue;
    }
    const std::string params = module_params_from_cmdline(cmdline, m.name);
    const long rc = ::syscall(SYS_finit_module, fd, params.c_str(), 0);
    const int err = errno;
    ::close(fd);
    if (rc == 0) {
      ++report.loaded;
      VB_LOG_DEBUG("loaded module %s %s", m.name.c_str(), params.c_str());
    } else if (err == EEXIST) {
      ++report.already;
    } else {
      report.failed.push_back(m.name + ": " + std::strerror(err));
    }
  }
  return report;
}

}  // namespace voidbox::agent
