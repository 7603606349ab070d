// voidbox-bench oci: pull+unpack of a multi-layer image with `voidbox image
// unpack` (cold cache) against `skopeo copy docker://... oci:` + `umoci
// unpack` of the same image from the same registry (cold as well).
//
// With no --registry it starts Debian's docker-registry on loopback and
// pushes a generated image (4 layers of random data and many small files).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "suite.hpp"
#include "targets.hpp"

namespace voidbox::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool sh(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc != 0) std::cerr << "voidbox-bench oci: command failed: " << command << "\n";
  return rc == 0;
}

double timed(const std::string& command, bool* ok) {
  auto start = Clock::now();
  *ok = sh(command) && *ok;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A loopback docker-registry for the duration of the bench.
class LocalRegistry {
 public:
  explicit LocalRegistry(const std::string& dir) : port_(free_port()) {
    fs::create_directories(dir + "/storage");
    std::ofstream(dir + "/config.yml")
        << "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        << "storage:\n  filesystem:\n    rootdirectory: " << dir << "/storage\n"
        << "http:\n  addr: 127.0.0.1:" << port_ << "\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen("/dev/null", "w", stdout);
      std::freopen((dir + "/registry.log").c_str(), "w", stderr);
      ::execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir + "/config.yml").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!accepts(port_) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~LocalRegistry() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return pid_ > 0 && accepts(port_); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

void write_random(const std::string& path, size_t bytes, std::mt19937_64& rng) {
  std::string data(bytes, '\0');
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(data.data() + i, &v, 8);
  }
  std::ofstream(path, std::ios::binary) << data;
}

// umoci-built image: each layer has one big random file and many small ones.
bool generate_image(const std::string& work, int layers, size_t layer_mib) {
  const std::string layout = work + "/gen-layout";
  const std::string rootless = ::geteuid() == 0 ? "" : " --rootless";
  if (!sh("umoci init --layout " + quote(layout)) ||
      !sh("umoci new --image " + quote(layout + ":bench"))) {
    return false;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < layers; ++i) {
    std::string bundle = work + "/gen-bundle" + std::to_string(i);
    if (!sh("umoci unpack" + rootless + " --image " + quote(layout + ":bench") + " " +
            quote(bundle))) {
      return false;
    }
    std::string dir = bundle + "/rootfs/layer" + std::to_string(i);
    fs::create_directories(dir + "/small");
    write_random(dir + "/big.bin", layer_mib << 20, rng);
    for (int f = 0; f < 500; ++f) {
      std::ofstream(dir + "/small/f" + std::to_string(f))
          << "file " << f << " of layer " << i << "\n";
    }
    if (!sh("umoci repack" + rootless + " --image " + quote(layout + ":bench") + " " +
            quote(bundle))) {
      return false;
    }
    fs::remove_all(bundle);
  }
  return true;
}

std::string voidbox_cli() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "voidbox").string();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void usage(std::ostream& os) {
  os << "usage: voidbox-bench oci [--registry HOST:PORT --image NAME:TAG] [--insecure] [--runs N]\n"
        "                         [--layers N --layer-mib N]\n"
        "Times pull+unpack by voidbox against skopeo copy + umoci unpack (cold caches).\n"
        "Without --registry, starts a loopback docker-registry and pushes a generated image.\n";
}

}  // namespace

int run_oci(std::span<const std::string> args) {
  std::string registry, image;
  bool insecure = false;
  int runs = 3, layers = 4;
  size_t layer_mib = 16;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (args[i] == "--help" || args[i] == "-h") {
      usage(std::cout);
      return 0;
    } else if (args[i] == "--registry") {
      registry = value();
    } else if (args[i] == "--image") {
      image = value();
    } else if (args[i] == "--insecure") {
      insecure = true;
    } else if (args[i] == "--runs") {
      runs = std::atoi(value().c_str());
    } else if (args[i] == "--layers") {
      layers = std::atoi(value().c_str());
    } else if (args[i] == "--layer-mib") {
      layer_mib = static_cast<size_t>(std::atoi(value().c_str()));
    } else {
      usage(std::cerr);
      return 2;
    }
  }
  if (runs < 1 || layers < 1 || layer_mib < 1 || registry.empty() != image.empty()) {
    usage(std::cerr);
    return 2;
  }
  std::string tmpl = (fs::temp_directory_path() / "vb-bench-oci-XXXXXX").string();
  const std::string work = ::mkdtemp(tmpl.data());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{work};

  std::unique_ptr<LocalRegistry> local;
  if (registry.empty()) {
    local = std::make_unique<LocalRegistry>(work + "/registry");
    if (!local->ready()) {
      std::cerr << "voidbox-bench oci: docker-registry did not start\n";
      return 1;
    }
    registry = local->host();
    image = "bench:1";
    if (!generate_image(work, layers, layer_mib) ||
        !sh("skopeo --insecure-policy copy --quiet --dest-tls-verify=false oci:" +
            quote(work + "/gen-layout:bench") + " docker://" + quote(registry + "/" + image))) {
      return 1;
    }
    insecure = true;
  }
  const std::string ref = registry + "/" + image;
  const std::string voidbox = voidbox_cli();
  const std::string tls = insecure ? " --src-tls-verify=false" : "";
  const std::string rootless = ::geteuid() == 0 ? "" : " --rootless";

  std::vector<double> ours, ours_pull, theirs, theirs_copy;
  bool ok = true;
  for (int r = 0; r < runs && ok; ++r) {
    const std::string run_dir = work + "/run" + std::to_string(r);
    fs::create_directories(run_dir);
    // Both sides start cold: an empty voidbox cache, an empty OCI layout.
    const std::string common = " --cache-dir " + quote(run_dir + "/cache") +
                               (insecure ? " --insecure-registry " + quote(registry) : "") +
                               " > /dev/null";
    double pull = timed(quote(voidbox) + " image pull " + quote(ref) + common, &ok);
    double unpack = timed(quote(voidbox) + " image unpack " + quote(ref) + " " +
                              quote(run_dir + "/voidbox-rootfs") + common,
                          &ok);
    ours_pull.push_back(pull);
    ours.push_back(pull + unpack);
    double copy = timed("skopeo --insecure-policy copy --quiet" + tls + " docker://" + quote(ref) +
                            " oci:" + quote(run_dir + "/layout:bench"),
                        &ok);
    double umoci =
        timed("umoci unpack" + rootless + " --image " + quote(run_dir + "/layout:bench") + " " +
                  quote(run_dir + "/bundle") + " > /dev/null",
              &ok);
    theirs_copy.push_back(copy);
    theirs.push_back(copy + umoci);
    std::error_code ec;
    fs::remove_all(run_dir, ec);
  }
  if (!ok) return 1;
  const double a = median(ours), b = median(theirs);
  std::printf("oci pull+unpack of %s (%d run%s, median)\n", ref.c_str(), runs,
              runs == 1 ? "" : "s");
  std::printf("  voidbox image pull + unpack     %8.3f s  (pull %.3f s)\n", a, median(ours_pull));
  std::printf("  skopeo copy + umoci unpack      %8.3f s  (copy %.3f s)\n", b, median(theirs_copy));
  std::printf("  ratio voidbox/peer              %8.3f\n", a / b);
  constexpr Target kOciRatio{"oci-ratio-vs-skopeo-umoci", "x", 1.0, 0.15};
  TargetReport targets;
  targets.check(kOciRatio, b > 0 ? a / b : 0);
  return targets.failed() ? 1 : 0;
}

}  // namespace voidbox::bench
