// voidbox image pull/unpack/disk/list/rm/prune against a real registry
// (Debian's docker-registry on loopback), compared with umoci.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "digest.hpp"
#include "process.hpp"
#include "registry_fixture.hpp"
#include "test_images.hpp"
#include "tree_compare.hpp"

namespace voidbox::oci_test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST_F(RegistryTest, UnpackMatchesUmociUnpackOfTheSameImage) {
  auto r = image({"unpack", ref("busybox:v1"), dir_ + "/rootfs"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto report = parse(r);
  EXPECT_EQ(report["layers"].to_number<int>(), 3);
  auto diffs = compare_trees(w_->umoci_reference_rootfs, dir_ + "/rootfs");
  EXPECT_TRUE(diffs.empty()) << [&] {
    std::string all;
    for (const auto& d : diffs) all += d + "\n";
    return all;
  }();
  // The whiteouts of layers 2 and 3 took effect.
  EXPECT_FALSE(fs::exists(dir_ + "/rootfs/etc/motd"));
  EXPECT_FALSE(fs::exists(dir_ + "/rootfs/usr/share/doc"));
  EXPECT_TRUE(fs::exists(dir_ + "/rootfs/etc/issue"));
  EXPECT_GT(report["whiteouts"].to_number<int>(), 0);
  // And the busybox in it runs.
  auto sh = run({dir_ + "/rootfs/bin/busybox", "echo", "hi"});
  EXPECT_EQ(sh.out, "hi\n");
}

TEST_F(RegistryTest, PullRecordsImageAndPullByDigestVerifies) {
  auto pulled = image({"pull", ref("busybox:v1")});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  auto result = parse(pulled);
  EXPECT_EQ(json::value_to<std::string>(result["manifest_digest"]), w_->busybox_digest);
  EXPECT_EQ(json::value_to<std::string>(result["platform"]), "linux/amd64");
  // Every cached blob hashes to its name.
  for (const auto& entry : fs::directory_iterator(cache_ + "/blobs/sha256")) {
    auto hash = voidbox::oci::sha256_of_file(entry.path().string());
    ASSERT_TRUE(hash);
    EXPECT_EQ(hash->substr(7), entry.path().filename().string());
  }
  auto by_digest = image({"pull", ref("busybox@" + w_->busybox_digest)});
  ASSERT_EQ(by_digest.exit_code, 0) << by_digest.err;
  EXPECT_EQ(parse(by_digest)["cached_layers"].to_number<int>(), 3);
  EXPECT_EQ(parse(by_digest)["downloaded_bytes"].to_number<int>(), 0);

  auto wrong = image({"pull", ref("busybox@sha256:" + std::string(64, 'e'))});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("not found"), std::string::npos) << wrong.err;
}

TEST_F(RegistryTest, CorruptCachedLayerIsDetectedAndFetchedAgain) {
  auto pulled = image({"pull", ref("busybox:v1")});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  std::string layer =
      json::value_to<std::string>(parse(pulled)["layers"].as_array()[0].at("digest"));
  std::string path = cache_ + "/blobs/sha256/" + layer.substr(7);
  {
    // Same size, different bytes: only a hash finds this.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  auto unpack = image({"unpack", ref("busybox:v1"), dir_ + "/rootfs"});
  EXPECT_EQ(unpack.exit_code, 1);
  EXPECT_NE(unpack.err.find("corrupt"), std::string::npos) << unpack.err;
  auto again = image({"pull", ref("busybox:v1")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_GT(parse(again)["downloaded_bytes"].to_number<int>(), 0);
  fs::remove_all(dir_ + "/rootfs");
  auto ok = image({"unpack", ref("busybox:v1"), dir_ + "/rootfs"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(RegistryTest, HtpasswdAuthWorksAndWrongCredentialsFailClearly) {
  const std::string secured = w_->secured->host() + "/busybox:v1";
  auto anonymous = image({"pull", secured});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_NE(anonymous.err.find("authentication required"), std::string::npos) << anonymous.err;

  auto wrong = image({"pull", secured},
                     {"VOIDBOX_REGISTRY_USER=" + w_->user, "VOIDBOX_REGISTRY_PASSWORD=nope"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("wrong username or password"), std::string::npos) << wrong.err;

  auto right = image({"pull", secured}, {"VOIDBOX_REGISTRY_USER=" + w_->user,
                                         "VOIDBOX_REGISTRY_PASSWORD=" + w_->password});
  EXPECT_EQ(right.exit_code, 0) << right.err;

  // Credentials from a Docker config.json instead of the environment.
  std::string config_dir = dir_ + "/docker-with-auth";
  fs::create_directories(config_dir);
  auto b64 = run({"sh", "-c", "printf %s \"$0\" | base64 -w0", w_->user + ":" + w_->password});
  std::ofstream(config_dir + "/config.json")
      << R"({"auths":{")" << w_->secured->host() << R"(":{"auth":")" << b64.out << R"("}}})";
  fs::remove_all(cache_);
  auto from_config = run(cli({"pull", secured}), env({"DOCKER_CONFIG=" + config_dir}));
  EXPECT_EQ(from_config.exit_code, 0) << from_config.err;
}

TEST_F(RegistryTest, PlatformSelectionFromAnIndex) {
  auto amd = image({"unpack", ref("multi:1"), dir_ + "/amd"});
  ASSERT_EQ(amd.exit_code, 0) << amd.err;
  EXPECT_EQ(read_file(dir_ + "/amd/etc/arch"), "amd64\n");
  EXPECT_EQ(read_file(dir_ + "/amd/etc/zstd-layer"), "from a zstd layer\n");
  auto compressions = parse(amd)["compressions"].as_array();
  EXPECT_EQ(compressions, (json::array{"gzip", "zstd"}));

  auto arm_pull = image({"pull", ref("multi:1"), "--platform", "linux/arm64"});
  ASSERT_EQ(arm_pull.exit_code, 0) << arm_pull.err;
  EXPECT_EQ(json::value_to<std::string>(parse(arm_pull)["platform"]), "linux/arm64/v8");
  EXPECT_FALSE(parse(arm_pull)["index_digest"].is_null());
  auto arm = image({"unpack", ref("multi:1"), dir_ + "/arm"});
  ASSERT_EQ(arm.exit_code, 0) << arm.err;
  EXPECT_EQ(read_file(dir_ + "/arm/etc/arch"), "arm64\n");

  auto none = image({"pull", ref("multi:1"), "--platform", "linux/riscv64"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no manifest for platform linux/riscv64"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("linux/amd64"), std::string::npos) << none.err;
}

TEST_F(RegistryTest, MaliciousLayersAreRejectedAndWriteNothingOutside) {
  struct Case {
    std::string tag, entry, reason;
  };
  for (const auto& c : std::vector<Case>{{"dotdot", "../escape", "'..'"},
                                         {"abs", "a/passwd", "outside the image root"},
                                         {"up", "a/voidbox-escaped", "outside the image root"}}) {
    std::string dest = dir_ + "/deep/nested/evil-" + c.tag;
    auto r = image({"unpack", ref("evil:" + c.tag), dest});
    EXPECT_EQ(r.exit_code, 1) << c.tag;
    EXPECT_NE(r.err.find("layer 1 (sha256:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("entry '" + c.entry + "'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.reason), std::string::npos) << r.err;
    EXPECT_EQ(read_file(w_->outside + "/passwd"), "original\n");
    EXPECT_FALSE(fs::exists(dir_ + "/deep/nested/escape"));
    EXPECT_FALSE(fs::exists(dir_ + "/deep/escape"));
    EXPECT_FALSE(fs::exists("/voidbox-escaped"));
    for (fs::path p = dest; p.has_relative_path(); p = p.parent_path()) {
      EXPECT_FALSE(fs::exists(p.parent_path() / "voidbox-escaped")) << p;
    }
  }
}

TEST_F(RegistryTest, PullKilledMidDownloadResumesAndLeavesNothingCorrupt) {
  constexpr std::uint64_t kStall = 24 << 20;
  SpawnOptions options;
  options.env = env({"VOIDBOX_TEST_STALL_AFTER_BYTES=" + std::to_string(kStall)});
  options.stderr_path = dir_ + "/pull.err";
  pid_t pid = spawn(cli({"pull", ref("big:1"), "--jobs", "1"}), options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (read_file(options.stderr_path).find("stalled at") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_file(options.stderr_path);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);

  // A partial file, no complete blob under a wrong name, no recorded reference.
  std::uint64_t partial_bytes = 0;
  for (const auto& entry : fs::directory_iterator(cache_ + "/blobs/sha256")) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".partial")) {
      partial_bytes = entry.file_size();
      continue;
    }
    auto hash = voidbox::oci::sha256_of_file(entry.path().string());
    ASSERT_TRUE(hash);
    EXPECT_EQ(hash->substr(7), name) << "a complete blob is corrupt";
  }
  EXPECT_GE(partial_bytes, kStall);
  auto listed = image({"list"});
  EXPECT_TRUE(parse(listed)["images"].as_array().empty()) << listed.out;

  auto resumed = image({"pull", ref("big:1")});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  auto result = parse(resumed);
  EXPECT_GE(result["resumed_bytes"].to_number<std::uint64_t>(), kStall);
  EXPECT_LT(result["downloaded_bytes"].to_number<std::uint64_t>(), 64u << 20);
  auto unpacked = image({"unpack", ref("big:1"), dir_ + "/rootfs"});
  ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
  auto big = voidbox::oci::sha256_of_file(dir_ + "/rootfs/big.bin");
  ASSERT_TRUE(big);
  EXPECT_EQ(*big, w_->big_file_sha256);
  for (const auto& entry : fs::directory_iterator(cache_ + "/blobs/sha256")) {
    EXPECT_FALSE(entry.path().string().ends_with(".partial")) << entry.path();
  }
}

TEST_F(RegistryTest, ConcurrentPullsShareOneCorrectCache) {
  std::vector<pid_t> pids;
  for (int i = 0; i < 2; ++i) {
    SpawnOptions options;
    options.env = env();
    options.stdout_path = dir_ + "/pull" + std::to_string(i) + ".out";
    options.stderr_path = dir_ + "/pull" + std::to_string(i) + ".err";
    pids.push_back(spawn(cli({"pull", ref("big:1")}), options));
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(wait_exit(pids[i]), 0) << read_file(dir_ + "/pull" + std::to_string(i) + ".err");
  }
  std::uint64_t downloaded = 0;
  for (int i = 0; i < 2; ++i) {
    boost::system::error_code ec;
    auto v = json::parse(read_file(dir_ + "/pull" + std::to_string(i) + ".out"), ec);
    ASSERT_FALSE(ec);
    downloaded += v.at("downloaded_bytes").to_number<std::uint64_t>();
  }
  // The flock per blob means the big layer crossed the network once.
  EXPECT_LT(downloaded, 2 * (64u << 20));
  for (const auto& entry : fs::directory_iterator(cache_ + "/blobs/sha256")) {
    std::string name = entry.path().filename().string();
    EXPECT_FALSE(name.ends_with(".partial")) << name;
    auto hash = voidbox::oci::sha256_of_file(entry.path().string());
    ASSERT_TRUE(hash);
    EXPECT_EQ(hash->substr(7), name);
  }
  EXPECT_EQ(parse(image({"list"}))["images"].as_array().size(), 1u);
}

TEST_F(RegistryTest, Ext4DiskHoldsTheRootfs) {
  auto built = image({"disk", ref("busybox:v1")});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  auto result = parse(built);
  std::string path = json::value_to<std::string>(result["path"]);
  EXPECT_TRUE(path.starts_with(cache_ + "/disks/")) << path;
  EXPECT_FALSE(result["cached"].as_bool());
  EXPECT_GE(fs::file_size(path), 64u << 20);
  auto ls = run({"/usr/sbin/debugfs", "-R", "ls -l /", path});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  for (const char* name : {" bin", " etc", " var"}) {
    EXPECT_NE(ls.out.find(name), std::string::npos) << ls.out;
  }
  auto cat = run({"/usr/sbin/debugfs", "-R", "cat /etc/issue", path});
  EXPECT_EQ(cat.out, "VoidBox test image\n");
  auto again = image({"disk", ref("busybox:v1")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(parse(again)["cached"].as_bool());
  auto human = run(cli({"disk", ref("busybox:v1")}, false), env());
  EXPECT_EQ(human.out, path + "\n");
}

TEST_F(RegistryTest, ListRemoveAndPrune) {
  ASSERT_EQ(image({"pull", ref("busybox:v1")}).exit_code, 0);
  ASSERT_EQ(image({"pull", ref("multi:1")}).exit_code, 0);
  auto listed = parse(image({"list"}))["images"].as_array();
  ASSERT_EQ(listed.size(), 2u);
  auto removed = image({"rm", ref("multi:1")});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(parse(image({"list"}))["images"].as_array().size(), 1u);
  auto missing = image({"rm", ref("multi:1")});
  EXPECT_EQ(missing.exit_code, 1);

  auto pruned = image({"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_GE(parse(pruned)["removed_blobs"].to_number<int>(),
            4);  // index, manifest, config, 2 layers
  // What busybox needs survived: it still unpacks from the cache alone.
  auto unpack = image({"unpack", w_->busybox_digest, dir_ + "/rootfs"});
  EXPECT_EQ(unpack.exit_code, 0) << unpack.err;
  auto again = parse(image({"prune"}));
  EXPECT_EQ(again["removed_blobs"].to_number<int>(), 0);
}

TEST_F(RegistryTest, UsageErrorsAndHelp) {
  EXPECT_EQ(run({w_->voidbox, "image"}).exit_code, 2);
  EXPECT_EQ(run({w_->voidbox, "image", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(run({w_->voidbox, "image", "pull"}).exit_code, 2);
  auto help = run({w_->voidbox, "image", "pull", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--platform"), std::string::npos);
  auto bad_ref = image({"pull", "UPPER/Case"});
  EXPECT_EQ(bad_ref.exit_code, 1);
  EXPECT_NE(bad_ref.err.find("invalid image reference"), std::string::npos) << bad_ref.err;
}

}  // namespace
}  // namespace voidbox::oci_test
