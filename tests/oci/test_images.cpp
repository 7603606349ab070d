#include "test_images.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>

#include "digest.hpp"
#include "oci_layout.hpp"
#include "process.hpp"
#include "tar_builder.hpp"

namespace voidbox::oci_test {
namespace {

namespace fs = std::filesystem;
using voidbox::oci::testing::TarBuilder;

constexpr const char* kTar = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

bool step(TestWorld& world, const ProcessResult& result, const std::string& what) {
  if (result.exit_code == 0) return true;
  world.error = what + " failed (" + std::to_string(result.exit_code) + "): " + result.err;
  return false;
}

std::vector<std::string> umoci(std::vector<std::string> args) {
  // Unprivileged users need --rootless for unpack/repack.
  if (::geteuid() != 0 && (args[0] == "unpack" || args[0] == "repack")) {
    args.insert(args.begin() + 1, "--rootless");
  }
  args.insert(args.begin(), "umoci");
  return args;
}

// Three layers: busybox with applet links; a second adding files (one
// hard link) and deleting one; a third removing a directory.
bool build_busybox_image(TestWorld& world) {
  const std::string layout = world.work + "/umoci-layout";
  const std::string image = layout + ":v1";
  if (!step(world, run(umoci({"init", "--layout", layout})), "umoci init") ||
      !step(world, run(umoci({"new", "--image", image})), "umoci new")) {
    return false;
  }
  auto layer = [&](int n, auto&& edit) {
    std::string bundle = world.work + "/bundle" + std::to_string(n);
    if (!step(world, run(umoci({"unpack", "--image", image, bundle})), "umoci unpack"))
      return false;
    edit(bundle + "/rootfs");
    return step(world, run(umoci({"repack", "--image", image, bundle})), "umoci repack");
  };
  bool ok = layer(1, [](const std::string& root) {
    fs::create_directories(root + "/bin");
    fs::create_directories(root + "/etc");
    fs::create_directories(root + "/usr/share/doc/busybox");
    fs::copy_file("/bin/busybox", root + "/bin/busybox");
    fs::permissions(root + "/bin/busybox", fs::perms(0755));
    for (const char* applet : {"sh", "ls", "cat", "echo", "mkdir", "rm", "cp", "mv", "sed", "grep",
                               "awk", "env", "find", "stat", "uname", "sleep"}) {
      fs::create_symlink("busybox", root + "/bin/" + applet);
    }
    std::ofstream(root + "/etc/motd") << "welcome\n";
    std::ofstream(root + "/usr/share/doc/busybox/README") << "docs\n";
  });
  ok = ok && layer(2, [](const std::string& root) {
         std::ofstream(root + "/etc/issue") << "VoidBox test image\n";
         std::ofstream(root + "/etc/secret") << "only root\n";
         fs::permissions(root + "/etc/secret", fs::perms(0600));
         fs::create_hard_link(root + "/bin/busybox", root + "/bin/busybox-hard");
         fs::remove(root + "/etc/motd");
       });
  ok = ok && layer(3, [](const std::string& root) {
         fs::remove_all(root + "/usr/share/doc");
         fs::create_directories(root + "/var/empty");
         fs::permissions(root + "/var/empty", fs::perms(0555));
       });
  if (!ok) return false;
  world.umoci_layout = layout;
  std::string reference = world.work + "/umoci-reference";
  if (!step(world, run(umoci({"unpack", "--image", image, reference})), "umoci unpack reference")) {
    return false;
  }
  world.umoci_reference_rootfs = reference + "/rootfs";
  if (auto e = push(layout, "v1", world.open->host() + "/busybox:v1"); !e.empty()) {
    world.error = e;
    return false;
  }
  if (auto e = push(layout, "v1", world.secured->host() + "/busybox:v1",
                    world.user + ":" + world.password);
      !e.empty()) {
    world.error = e;
    return false;
  }
  auto inspect = run({"skopeo", "inspect", "--tls-verify=false", "--raw",
                      "docker://" + world.open->host() + "/busybox:v1"});
  if (!step(world, inspect, "skopeo inspect")) return false;
  world.busybox_digest = voidbox::oci::sha256_of(inspect.out);
  return true;
}

Layer tar_layer(const TarBuilder& builder, TarBuilder::Filter filter) {
  std::string plain = builder.build();
  switch (filter) {
    case TarBuilder::Filter::gzip:
      return {builder.build(filter), plain, kTarGzip};
    case TarBuilder::Filter::zstd:
      return {builder.build(filter), plain, kTarZstd};
    case TarBuilder::Filter::none:
      break;
  }
  return {plain, plain, kTar};
}

bool build_layout_images(TestWorld& world) {
  OciLayout layout(world.work + "/handmade");
  // Multi-arch: amd64 with a gzip and a zstd layer, arm64 with a dummy layer.
  auto amd64 = layout.add_image(
      {tar_layer(TarBuilder().dir("etc").file("etc/arch", "amd64\n"), TarBuilder::Filter::gzip),
       tar_layer(TarBuilder().file("etc/zstd-layer", "from a zstd layer\n"),
                 TarBuilder::Filter::zstd)},
      "amd64");
  auto arm64 = layout.add_image(
      {tar_layer(TarBuilder().dir("etc").file("etc/arch", "arm64\n"), TarBuilder::Filter::gzip)},
      "arm64", "v8");
  layout.tag("multi", layout.add_index({{arm64, "arm64"}, {amd64, "amd64"}}));

  // Malicious single-layer images.
  world.outside = world.work + "/outside";
  fs::create_directories(world.outside);
  std::ofstream(world.outside + "/passwd") << "original\n";
  layout.tag("evil-dotdot",
             layout.add_image({tar_layer(TarBuilder().file("ok", "fine").file("../escape", "x"),
                                         TarBuilder::Filter::none)},
                              "amd64"));
  layout.tag("evil-abs",
             layout.add_image(
                 {tar_layer(TarBuilder().symlink("a", world.outside).file("a/passwd", "pwned\n"),
                            TarBuilder::Filter::gzip)},
                 "amd64"));
  layout.tag("evil-up", layout.add_image({tar_layer(TarBuilder()
                                                        .symlink("a", "../../../../../../..")
                                                        .file("a/voidbox-escaped", "pwned\n"),
                                                    TarBuilder::Filter::none)},
                                         "amd64"));

  // Big: 64 MiB of random data in an uncompressed layer, plus a small one.
  std::string big(64 << 20, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= big.size(); i += 8) {
    std::uint64_t v = rng();
    std::memcpy(big.data() + i, &v, 8);
  }
  world.big_file_sha256 = voidbox::oci::sha256_of(big);
  layout.tag(
      "big",
      layout.add_image({tar_layer(TarBuilder().file("big.bin", big), TarBuilder::Filter::none),
                        tar_layer(TarBuilder().file("small", "small\n"), TarBuilder::Filter::gzip)},
                       "amd64"));

  const std::string host = world.open->host();
  for (const auto& [tag, name, all] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"multi", "multi:1", true},
           {"evil-dotdot", "evil:dotdot", false},
           {"evil-abs", "evil:abs", false},
           {"evil-up", "evil:up", false},
           {"big", "big:1", false}}) {
    if (auto e = push(layout.dir(), tag, host + "/" + name, "", all); !e.empty()) {
      world.error = e;
      return false;
    }
  }
  return true;
}

}  // namespace

void build_world(TestWorld& world) {
  const char* build_dir = std::getenv("VOIDBOX_BUILD_DIR");
  world.voidbox = std::string(build_dir ? build_dir : ".") + "/bin/voidbox";
  if (::access(world.voidbox.c_str(), X_OK) != 0) {
    world.error = "voidbox CLI not built at " + world.voidbox;
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / "vb-oci-world-XXXXXX").string();
  world.work = ::mkdtemp(tmpl.data());
  world.open = std::make_unique<RegistryServer>(world.work + "/registry-open", "", "");
  world.secured =
      std::make_unique<RegistryServer>(world.work + "/registry-auth", world.user, world.password);
  if (!world.open->running() || !world.secured->running()) {
    world.error = "registry did not start: " + world.open->error() + world.secured->error();
    return;
  }
  if (!build_busybox_image(world)) return;
  build_layout_images(world);
}

}  // namespace voidbox::oci_test
