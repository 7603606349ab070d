// Kernel module loading for the VM boot. The load order comes from the
// modules themselves: each .ko's `.modinfo` ELF section lists `depends=`, and
// the modules are loaded with finit_module in topological order. Modules
// already loaded or built in count as done.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace voidbox::agent {

struct ModuleInfo {
  std::string name;                  // from `name=`, else the file name; '-' -> '_'
  std::vector<std::string> depends;  // normalized names
  std::string path;
};

// Normalizes a module name: strips directories and .ko*, maps '-' to '_'.
std::string module_name_from_path(std::string_view path);

// Parses the `.modinfo` section of an ELF64 little-endian relocatable object.
std::expected<ModuleInfo, std::string> parse_modinfo(std::string_view elf_bytes);

// Orders modules so each comes after its dependencies. Dependencies not in
// `modules` are assumed built in. Fails on a cycle.
std::expected<std::vector<ModuleInfo>, std::string> order_modules(
    const std::vector<ModuleInfo>& modules);

// `<module>.<param>=<value>` words of the kernel command line for one module,
// joined as finit_module expects ("param=value param2=value2").
std::string module_params_from_cmdline(std::string_view cmdline, std::string_view module);

struct LoadReport {
  std::size_t loaded = 0;
  std::size_t already = 0;
  std::vector<std::string> failed;  // "name: reason"
};

// Loads every .ko under dir (recursively) in dependency order.
LoadReport load_modules_from(const std::string& dir, std::string_view cmdline);

}  // namespace voidbox::agent
