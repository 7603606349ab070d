// `voidbox doctor`'s report, against injected backend diagnoses and a fake
// cache. The KVM backend's own checks are tested with the plugin
// (plugins/backend-kvm/tests/diagnosis_test.cpp).
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

plugin::Check check(std::string name, vb_check_result result, std::string detail,
                    std::string remedy = "", std::string facts = "") {
  return {std::move(name), result, std::move(detail), std::move(remedy), std::move(facts)};
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
    backend_checks_ = {
        check("kvm", VB_CHECK_OK, "/dev/kvm usable (API 12): hardware KVM, AMD SVM (kvm_amd)", "",
              R"({"kvm":{"usable":true,"hardware_kvm":true,"pvm":false,"hypervisor":"kvm-amd"},)"
              R"("cpu":{"svm":true}})"),
        check("vsock", VB_CHECK_NOTE, "no /dev/vhost-vsock", "modprobe vhost_vsock",
              R"({"vsock":{"vhost_vsock_present":false}})")};
    options_.diagnose_backends = [this](const std::string& kernel) {
      kernel_seen_ = kernel;
      return std::vector<BackendReport>{{"kvm", backend_checks_, backend_error_}};
    };
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
  std::vector<plugin::Check> backend_checks_;
  std::string backend_error_;
  std::string kernel_seen_;
  std::map<std::string, std::string> env_;
  DoctorOptions options_;
  std::ostringstream out_;
};

TEST_F(Doctor, HardwareKvmWithArtifactsCanBoot) {
  populate_cache();
  EXPECT_EQ(run(), 0) << text();
  EXPECT_NE(text().find("hardware KVM, AMD SVM"), std::string::npos) << text();
  EXPECT_NE(text().find("note  vsock"), std::string::npos) << text();  // a note is no problem
  EXPECT_EQ(kernel_seen_, (cache() / "kernels/6.1.0-56-amd64/vmlinuz").string());
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

TEST_F(Doctor, AFailedBackendCheckMeansNoVmAndShowsItsRemedy) {
  populate_cache();
  backend_checks_[0] = check("kvm", VB_CHECK_FAIL, "/dev/kvm is PVM", "use scripts/vmtest.sh");
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("FAIL  kvm        /dev/kvm is PVM"), std::string::npos) << text();
  EXPECT_NE(text().find("fix: use scripts/vmtest.sh"), std::string::npos) << text();
  EXPECT_NE(text().find("VMs cannot be booted here: 1 problem"), std::string::npos) << text();

  backend_checks_[0] = check("kvm", VB_CHECK_WARN, "cannot tell", "if VMs hang, nest");
  EXPECT_EQ(run(), 0) << text();  // a warning alone does not stop VMs
}

TEST_F(Doctor, AFailedDiagnosisIsAProblem) {
  populate_cache();
  backend_checks_.clear();
  backend_error_ = "plugin threw";
  EXPECT_EQ(run(), 1);
  EXPECT_NE(text().find("diagnosis failed: plugin threw"), std::string::npos) << text();
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
  EXPECT_NE(text().find("no VM backend (e.g. kvm) plugin loaded"), std::string::npos) << text();
}

TEST_F(Doctor, JsonDescribesTheHost) {
  populate_cache();
  options_.plugins_scanned = true;
  options_.plugins = {{"/p/libx.so", "x", false, "bad ABI"}};
  int status = -1;
  auto doc = run_json(status);
  EXPECT_EQ(status, 0);
  // The backend's facts appear at the top level, as it named them.
  auto& kvm = doc["kvm"].as_object();
  EXPECT_TRUE(kvm["usable"].as_bool());
  EXPECT_TRUE(kvm["hardware_kvm"].as_bool());
  EXPECT_FALSE(kvm["pvm"].as_bool());
  EXPECT_EQ(kvm["hypervisor"].as_string(), "kvm-amd");
  EXPECT_TRUE(doc["cpu"].as_object()["svm"].as_bool());
  EXPECT_FALSE(doc["vsock"].as_object()["vhost_vsock_present"].as_bool());
  ASSERT_GE(doc["checks"].as_array().size(), 2u);
  EXPECT_EQ(doc["checks"].as_array()[1].as_object()["status"].as_string(), "note");
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
    EXPECT_TRUE(doc.contains("checks"));
  }

  global.output = OutputFormat::json;  // `voidbox --output json doctor`
  run_verb({});
  EXPECT_NO_THROW(boost::json::parse(out.str()));
  run_verb({"--output", "human"});
  EXPECT_NE(out.str().find("voidbox doctor"), std::string::npos);
}

}  // namespace
}  // namespace voidbox::cli
