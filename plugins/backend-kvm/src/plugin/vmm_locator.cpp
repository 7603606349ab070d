#include "vmm_locator.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace voidbox::kvm {
namespace {

std::string plugin_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&plugin_dir), &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  std::string path = info.dli_fname;
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

Result<std::string> locate_vmm() {
  if (const char* env = std::getenv("VOIDBOX_VMM"); env != nullptr && *env != '\0') {
    if (::access(env, X_OK) == 0) return std::string(env);
    return fail(std::string("VOIDBOX_VMM=") + env + " is not an executable");
  }
  const std::string dir = plugin_dir();
  const std::vector<std::string> candidates = {
      dir + "/voidbox-vmm",
      dir + "/../../../libexec/voidbox/voidbox-vmm",
      dir + "/../../../bin/voidbox-vmm",
  };
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return fail("voidbox-vmm not found next to the kvm plugin (" + dir +
              ") nor in ../../../libexec/voidbox or ../../../bin; set VOIDBOX_VMM");
}

}  // namespace voidbox::kvm
