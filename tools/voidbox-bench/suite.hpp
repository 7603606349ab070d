// A benchmark suite: `voidbox-bench <name> [args]`. Each prints its figures
// and, where there is a peer (QEMU, skopeo+umoci, posix_spawn), the ratio.
#pragma once

#include <span>
#include <string>

namespace voidbox::bench {

struct Suite {
  const char* name;
  const char* summary;
  int (*run)(std::span<const std::string> args);
};

int run_boot(std::span<const std::string> args);
int run_exec(std::span<const std::string> args);
int run_oci(std::span<const std::string> args);
int run_devices(std::span<const std::string> args);
int run_daemon(std::span<const std::string> args);
int run_net(std::span<const std::string> args);

}  // namespace voidbox::bench
