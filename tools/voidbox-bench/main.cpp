#include <iostream>
#include <string>
#include <vector>

#include "suite.hpp"

namespace {

using voidbox::bench::Suite;

constexpr Suite kSuites[] = {
    {"boot", "boot-to-guest-init time vs QEMU microvm; VMM overhead", voidbox::bench::run_boot},
    {"exec", "exec round trip vs posix_spawn; serial execs; file RPC throughput",
     voidbox::bench::run_exec},
    {"oci", "pull+unpack vs skopeo copy + umoci unpack", voidbox::bench::run_oci},
    {"devices", "virtio-blk read and vsock MB/s, exits per MiB: sync vs event device path",
     voidbox::bench::run_devices},
    {"daemon", "GET /v1/runs/{id} req/s vs /v1/health; submit-to-first-event p50/p99",
     voidbox::bench::run_daemon},
    {"net", "guest TCP MB/s both ways and connect-request-response p50/p99 vs QEMU+libslirp, passt",
     voidbox::bench::run_net},
    {nullptr, nullptr, nullptr},
};

void usage(std::ostream& os) {
  os << "usage: voidbox-bench <suite> [--help] [args]\n\nSuites:\n";
  for (const Suite& s : kSuites) {
    if (s.name != nullptr) os << "  " << s.name << "\t" << s.summary << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const Suite& s : kSuites) {
    if (s.name != nullptr && argv[1] == std::string(s.name)) return s.run(args);
  }
  std::cerr << "voidbox-bench: unknown suite '" << argv[1] << "'\n";
  usage(std::cerr);
  return 2;
}
