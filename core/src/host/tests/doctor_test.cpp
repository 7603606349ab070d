// `voidbox doctor`'s report, against injected host facts and a fake cache.
#include "cli/doctor.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "cli/verb.hpp"

namespace voidbox::cli {
namespace {

namespace fs = std::filesystem;
using host::HostCapabilities;
using host::HypervisorKind;

HostCapabilities caps_of(HypervisorKind kind) {
  HostCapabilities c;
  c.hypervisor = kind;
  c.kvm.present = true;
  c.kvm.openable = true;
  c.kvm.api_version = 12;
  c.vsock.af_vsock = true;
  return c;
}

class Doctor : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("voidbox-doctor-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
    fs::create_directories(home_);
    env_["HOME"] = home_.string();
    options_.getenv = [this](std::string_view name) -> std::optional<std::string> {
      auto it = env_.find(std::string(name));
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    options_.host = caps_of(HypervisorKind::kvm_amd);
  }
  void TearDown() override { fs::remove_all(home_); }

  fs::path cache() const { return home_ / ".cache/voidbox"; }
  fs::path touch(const fs::path& p, const std::string& text = "x") {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
  // What scripts/fetch-kernel.sh and the guest-image builder leave behind.
  void populate_cache() {
    touch(cache() / "kernels/6.1.0-56-amd64/vmlinuz");
    touch(cache() / "kernels/6.1.0-56-amd64/config", "CONFIG_KVM_GUEST=y\n");
    touch(cache() / "images/6.1.0-56-amd64/initramfs.cpio.gz");
  }
  int run() {
    out_.str("");
    return run_doctor(options_, out_);
  }
  boost::json::object run_json(int& status) {
    options_.json = true;
    status = run();
    return boost::json::parse(out_.str()).as_object();
  }
  std::string text() const { return out_.str(); }

  fs::path home_;
  std::map<std::string, std::string> env_;
  DoctorOptions options_;
  std::ostringstream out_;
};

TEST_F(Doctor, HardwareKvmWithArtifactsCanBoot) {
  populate_cache();
  EXPECT_EQ(run(), 0) << text();
  EXPECT_NE(text().find("hardware KVM, AMD SVM"), std::string::npos) << text();
  EXPECT_NE(text().find((cache() / "kernels/6.1.0-56-amd64/vmlinuz").string()), std::string::npos);
  EXPECT_NE(text().find("initramfs.cpio.gz"), std::string::npos);
  EXPECT_NE(text().find("A VM can be booted here."), std::string::npos);
  EXPECT_EQ(text().find("FAIL"), std::string::npos) << text();
}

TEST_F(Doctor, NamesTheUncompressedVmlinuxThatRunBoots) {
  populate_cache();
  touch(cache() / "kernels/6.1.0-56-amd64/vmlinux");
  EXPECT_EQ(run(), 0) << text();
  EXPECT_NE(text().find((cache() / "kernels/6.1.0-56-amd64/vmlinux").string()), std::string::npos)
      << text();
}

TEST_F(Doctor, PvmWithStockKernelFailsAndPointsAtTheHarness) {
  populate_cache();
  options_.host = caps_of(HypervisorKind::pvm);
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("PVM"), std::string::npos) << text();
  EXPECT_NE(text().find("CONFIG_PVM_GUEST"), std::string::npos) << text();
  EXPECT_NE(text().find("stock kernels"), std::string::npos) << text();
  EXPECT_NE(text().find("scripts/vmtest.sh"), std::string::npos) << text();
  EXPECT_NE(text().find("VMs cannot be booted here: 1 problem"), std::string::npos) << text();
}

TEST_F(Doctor, PvmWithPvmGuestKernelCanBoot) {
  populate_cache();
  touch(cache() / "kernels/6.1.0-56-amd64/config", "CONFIG_PVM_GUEST=y\n");
  options_.host = caps_of(HypervisorKind::pvm);
  int status = -1;
  auto doc = run_json(status);
  EXPECT_EQ(status, 0) << text();
  EXPECT_TRUE(doc["vm_bootable"].as_bool());
  EXPECT_TRUE(doc["kernel"].as_object()["pvm_guest"].as_bool());
  EXPECT_TRUE(doc["kvm"].as_object()["pvm"].as_bool());
  EXPECT_FALSE(doc["kvm"].as_object()["hardware_kvm"].as_bool());
}

TEST_F(Doctor, MissingKernelAndInitramfsNameTheirScripts) {
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("scripts/fetch-kernel.sh"), std::string::npos) << text();
  EXPECT_NE(text().find("scripts/build-guest-image.sh"), std::string::npos) << text();
  EXPECT_NE(text().find("2 problems"), std::string::npos) << text();
}

TEST_F(Doctor, EnvironmentOverridesTheCache) {
  populate_cache();
  const fs::path mine = touch(home_ / "my-vmlinuz");
  env_["VOID_BOX_KERNEL"] = mine.string();
  int status = -1;
  auto doc = run_json(status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(doc["kernel"].as_object()["path"].as_string(), mine.string());
  EXPECT_EQ(doc["kernel"].as_object()["origin"].as_string(), "VOID_BOX_KERNEL");
}

TEST_F(Doctor, EnvironmentPointingNowhereFails) {
  populate_cache();
  env_["VOID_BOX_INITRAMFS"] = (home_ / "nope.cpio").string();
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("nope.cpio (from VOID_BOX_INITRAMFS) does not exist"), std::string::npos)
      << text();
  EXPECT_NE(text().find("point VOID_BOX_INITRAMFS at an existing file"), std::string::npos);
}

TEST_F(Doctor, XdgCacheHomeIsHonoured) {
  env_["XDG_CACHE_HOME"] = (home_ / "xdg").string();
  touch(home_ / "xdg/voidbox/kernels/6.1.0-1-amd64/vmlinuz");
  touch(home_ / "xdg/voidbox/images/base.cpio");
  EXPECT_EQ(run(), 0) << text();
}

TEST_F(Doctor, NoKvmDeviceSuggestsLoadingTheModule) {
  populate_cache();
  HostCapabilities c;  // nothing present
  c.cpu.vmx = true;
  options_.host = c;
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("no /dev/kvm"), std::string::npos) << text();
  EXPECT_NE(text().find("modprobe kvm_intel"), std::string::npos) << text();
}

TEST_F(Doctor, PermissionDeniedSuggestsTheKvmGroup) {
  populate_cache();
  HostCapabilities c = caps_of(HypervisorKind::kvm_intel);
  c.kvm.openable = false;
  c.kvm.open_errno = EACCES;
  c.kvm.api_version.reset();
  options_.host = c;
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("kvm group"), std::string::npos) << text();
}

TEST_F(Doctor, MissingVhostVsockIsOnlyANote) {
  populate_cache();
  int status = -1;
  auto doc = run_json(status);
  EXPECT_EQ(status, 0);
  EXPECT_FALSE(doc["vsock"].as_object()["vhost_vsock_present"].as_bool());
  bool saw_vsock = false;
  for (const auto& c : doc["checks"].as_array()) {
    const auto& o = c.as_object();
    if (o.at("name").as_string() != "vsock") continue;
    saw_vsock = true;
    EXPECT_EQ(o.at("status").as_string(), "note");
    EXPECT_NE(std::string(o.at("remedy").as_string()).find("modprobe vhost_vsock"),
              std::string::npos);
  }
  EXPECT_TRUE(saw_vsock);
}

TEST_F(Doctor, PluginFailuresAreReportedWithPathAndReason) {
  populate_cache();
  options_.plugins_scanned = true;
  options_.plugins = {{"/p/libbackend-kvm.so", "backend-kvm", true, ""},
                      {"/p/libbroken.so", "libbroken", false, "missing voidbox_plugin_entry"}};
  options_.vm_backend_loaded = true;
  EXPECT_EQ(run(), 0) << text();  // a broken unrelated plugin does not stop VMs
  EXPECT_NE(text().find("/p/libbroken.so (libbroken) failed to load: missing voidbox_plugin_entry"),
            std::string::npos)
      << text();
  EXPECT_NE(text().find("1 loaded, 1 failed"), std::string::npos) << text();

  options_.vm_backend_loaded = false;
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("no VM backend (kvm) plugin loaded"), std::string::npos) << text();
}

TEST_F(Doctor, JsonDescribesTheHost) {
  populate_cache();
  options_.plugins_scanned = true;
  options_.plugins = {{"/p/libx.so", "x", false, "bad ABI"}};
  int status = -1;
  auto doc = run_json(status);
  EXPECT_EQ(status, 0);
  auto& kvm = doc["kvm"].as_object();
  EXPECT_TRUE(kvm["usable"].as_bool());
  EXPECT_TRUE(kvm["hardware_kvm"].as_bool());
  EXPECT_FALSE(kvm["pvm"].as_bool());
  EXPECT_EQ(kvm["hypervisor"].as_string(), "kvm-amd");
  EXPECT_EQ(kvm["api_version"].as_int64(), 12);
  ASSERT_EQ(doc["plugins"].as_array().size(), 1u);
  EXPECT_EQ(doc["plugins"].as_array()[0].as_object()["reason"].as_string(), "bad ABI");
  // JSON mode prints exactly one document.
  EXPECT_EQ(text().find('\n'), text().size() - 1);
}

// The verb: flag parsing and the real host (whatever it is) in JSON.
TEST(DoctorVerb, ParsesOutputFlags) {
  GlobalOptions global;
  std::ostringstream out, err;
  auto run_verb = [&](std::vector<std::string> args) {
    out.str("");
    err.str("");
    VerbContext ctx{global, "doctor", std::move(args), out, err};
    return run_doctor(ctx);
  };

  EXPECT_EQ(run_verb({"--help"}), kExitOk);
  EXPECT_NE(out.str().find("usage: voidbox doctor"), std::string::npos);

  EXPECT_EQ(run_verb({"--output", "yaml"}), kExitUsage);
  EXPECT_NE(err.str().find("human or json"), std::string::npos);
  EXPECT_EQ(run_verb({"--bogus"}), kExitUsage);

  for (const auto& args :
       {std::vector<std::string>{"--json"}, std::vector<std::string>{"--output=json"},
        std::vector<std::string>{"--output", "json"}}) {
    const int status = run_verb(args);
    EXPECT_TRUE(status == kExitOk || status == kExitFailure) << status;
    const auto doc = boost::json::parse(out.str()).as_object();
    EXPECT_EQ(doc.at("vm_bootable").as_bool(), status == kExitOk);
    EXPECT_TRUE(doc.at("kvm").as_object().contains("hypervisor"));
  }

  global.output = OutputFormat::json;  // `voidbox --output json doctor`
  run_verb({});
  EXPECT_NO_THROW(boost::json::parse(out.str()));
  run_verb({"--output", "human"});
  EXPECT_NE(out.str().find("voidbox doctor"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::cli
