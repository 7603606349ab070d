// The KVM backend's host checks (what `voidbox doctor` shows), against
// injected host capabilities and a kernel with or without a PVM config.
#include "host/diagnosis.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

namespace voidbox::kvm::host {
namespace {

namespace fs = std::filesystem;
using voidbox::sdk::Check;

HostCapabilities caps_of(HypervisorKind kind) {
  HostCapabilities c;
  c.hypervisor = kind;
  c.kvm.present = true;
  c.kvm.openable = true;
  c.kvm.api_version = 12;
  c.vsock.af_vsock = true;
  return c;
}

class KvmDiagnosis : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("voidbox-kvm-diagnosis-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    kernel_ = (dir_ / "vmlinuz").string();
    std::ofstream(kernel_) << "x";
    std::ofstream(dir_ / "config") << "CONFIG_KVM_GUEST=y\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Check kvm_check(const std::vector<Check>& checks) {
    EXPECT_EQ(checks.size(), 2u);
    EXPECT_EQ(checks.at(0).name, "kvm");
    return checks.at(0);
  }
  boost::json::object facts(const Check& c) { return boost::json::parse(c.facts_json).as_object(); }

  fs::path dir_;
  std::string kernel_;
};

TEST_F(KvmDiagnosis, HardwareKvmIsOk) {
  const auto checks = diagnose_host(caps_of(HypervisorKind::kvm_amd), kernel_);
  const Check kvm = kvm_check(checks);
  EXPECT_EQ(kvm.result, VB_CHECK_OK);
  EXPECT_NE(kvm.detail.find("hardware KVM, AMD SVM"), std::string::npos) << kvm.detail;
  auto f = facts(kvm);
  EXPECT_TRUE(f["kvm"].as_object()["hardware_kvm"].as_bool());
  EXPECT_TRUE(f["kvm"].as_object()["boots_stock_kernels"].as_bool());
  EXPECT_EQ(f["kvm"].as_object()["hypervisor"].as_string(), "kvm-amd");
  EXPECT_EQ(f["kvm"].as_object()["api_version"].as_int64(), 12);
  for (const auto& [key, value] : f["kvm"].as_object()) {
    EXPECT_FALSE(value.is_object()) << key << ": scripts expect the kvm object flat";
  }
}

TEST_F(KvmDiagnosis, PvmWithStockKernelFailsAndPointsAtTheHarness) {
  const Check kvm = kvm_check(diagnose_host(caps_of(HypervisorKind::pvm), kernel_));
  EXPECT_EQ(kvm.result, VB_CHECK_FAIL);
  EXPECT_NE(kvm.detail.find("PVM"), std::string::npos) << kvm.detail;
  EXPECT_NE(kvm.detail.find("CONFIG_PVM_GUEST"), std::string::npos) << kvm.detail;
  EXPECT_NE(kvm.detail.find("stock kernels"), std::string::npos) << kvm.detail;
  EXPECT_NE(kvm.remedy.find("scripts/vmtest.sh"), std::string::npos) << kvm.remedy;
  EXPECT_TRUE(facts(kvm)["kvm"].as_object()["pvm"].as_bool());
  EXPECT_FALSE(facts(kvm)["kvm"].as_object()["kernel_pvm_guest"].as_bool());
}

TEST_F(KvmDiagnosis, PvmWithPvmGuestKernelIsOk) {
  std::ofstream(dir_ / "config") << "CONFIG_PVM_GUEST=y\n";
  const Check kvm = kvm_check(diagnose_host(caps_of(HypervisorKind::pvm), kernel_));
  EXPECT_EQ(kvm.result, VB_CHECK_OK) << kvm.detail;
  EXPECT_TRUE(facts(kvm)["kvm"].as_object()["kernel_pvm_guest"].as_bool());
  EXPECT_FALSE(facts(kvm)["kvm"].as_object()["hardware_kvm"].as_bool());
  // No kernel known: PVM cannot be cleared.
  EXPECT_EQ(kvm_check(diagnose_host(caps_of(HypervisorKind::pvm), "")).result, VB_CHECK_FAIL);
}

TEST_F(KvmDiagnosis, NoKvmDeviceSuggestsLoadingTheModule) {
  HostCapabilities c;  // nothing present
  c.cpu.vmx = true;
  const Check kvm = kvm_check(diagnose_host(c, kernel_));
  EXPECT_EQ(kvm.result, VB_CHECK_FAIL);
  EXPECT_EQ(kvm.detail, "no /dev/kvm");
  EXPECT_NE(kvm.remedy.find("modprobe kvm_intel"), std::string::npos) << kvm.remedy;
}

TEST_F(KvmDiagnosis, PermissionDeniedSuggestsTheKvmGroup) {
  HostCapabilities c = caps_of(HypervisorKind::kvm_intel);
  c.kvm.openable = false;
  c.kvm.open_errno = EACCES;
  c.kvm.api_version.reset();
  const Check kvm = kvm_check(diagnose_host(c, kernel_));
  EXPECT_EQ(kvm.result, VB_CHECK_FAIL);
  EXPECT_NE(kvm.remedy.find("kvm group"), std::string::npos) << kvm.remedy;
}

TEST_F(KvmDiagnosis, UnknownKvmKindIsAWarning) {
  EXPECT_EQ(kvm_check(diagnose_host(caps_of(HypervisorKind::kvm_unknown), kernel_)).result,
            VB_CHECK_WARN);
}

TEST_F(KvmDiagnosis, MissingVhostVsockIsOnlyANote) {
  const auto checks = diagnose_host(caps_of(HypervisorKind::kvm_amd), kernel_);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[1].name, "vsock");
  EXPECT_EQ(checks[1].result, VB_CHECK_NOTE);
  EXPECT_NE(checks[1].remedy.find("modprobe vhost_vsock"), std::string::npos);
  EXPECT_FALSE(facts(checks[1])["vsock"].as_object()["vhost_vsock_present"].as_bool());
}

}  // namespace
}  // namespace voidbox::kvm::host
