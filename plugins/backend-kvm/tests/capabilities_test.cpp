#include "host/capabilities.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

namespace voidbox::kvm::host {
namespace {

namespace fs = std::filesystem;

// Trimmed from real machines: an Intel host, an AMD host (and the nested L1
// of scripts/vmtest.sh, QEMU TCG -cpu max), and a PVM guest (the CI hosts).
constexpr const char* kIntelCpuinfo =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic vmx smx est tm2 ssse3\n"
    "vmx flags\t: vnmi preemption_timer invvpid ept_x_only\n"
    "bugs\t\t: spectre_v1\n\n"
    "processor\t: 1\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic vmx smx est tm2 ssse3\n";
constexpr const char* kAmdCpuinfo =
    "processor\t: 0\n"
    "vendor_id\t: AuthenticAMD\n"
    "flags\t\t: fpu vme de pse tsc msr pae hypervisor lahf_lm svm extapic cr8_legacy\n";
constexpr const char* kPvmGuestCpuinfo =
    "processor\t: 0\n"
    "vendor_id\t: AuthenticAMD\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep hypervisor lahf_lm svm_lock "
    "npt_x\n";

TEST(ParseCpuinfoFlags, IntelHasVmx) {
  const CpuFlags f = parse_cpuinfo_flags(kIntelCpuinfo);
  EXPECT_TRUE(f.vmx);
  EXPECT_FALSE(f.svm);
  EXPECT_FALSE(f.hypervisor);
}

TEST(ParseCpuinfoFlags, AmdGuestHasSvmAndHypervisor) {
  const CpuFlags f = parse_cpuinfo_flags(kAmdCpuinfo);
  EXPECT_FALSE(f.vmx);
  EXPECT_TRUE(f.svm);
  EXPECT_TRUE(f.hypervisor);
}

TEST(ParseCpuinfoFlags, MatchesWholeWordsOnly) {
  // "svm_lock" and "npt_x" must not read as svm; the "vmx flags" line of
  // Intel CPUs is a different key.
  const CpuFlags f = parse_cpuinfo_flags(kPvmGuestCpuinfo);
  EXPECT_FALSE(f.svm);
  EXPECT_FALSE(f.vmx);
  EXPECT_TRUE(f.hypervisor);

  const CpuFlags only_vmx_flags_line =
      parse_cpuinfo_flags("vmx flags\t: vnmi\nflags\t\t: fpu sse\n");
  EXPECT_FALSE(only_vmx_flags_line.vmx);
}

TEST(ParseCpuinfoFlags, EmptyOrMissingFlagsLine) {
  EXPECT_FALSE(parse_cpuinfo_flags("").vmx);
  const CpuFlags f = parse_cpuinfo_flags("processor\t: 0\nvendor_id\t: GenuineIntel\n");
  EXPECT_FALSE(f.vmx);
  EXPECT_FALSE(f.svm);
  EXPECT_FALSE(f.hypervisor);
}

TEST(ParseCpuinfoFlags, FlagAtLineEndAndWithoutTrailingNewline) {
  EXPECT_TRUE(parse_cpuinfo_flags("flags\t\t: fpu svm").svm);
  EXPECT_TRUE(parse_cpuinfo_flags("flags : vmx").vmx);
}

TEST(ClassifyHypervisor, VendorModulesDecide) {
  const CpuFlags none;
  EXPECT_EQ(classify_hypervisor({"kvm", "kvm_pvm"}, none, true), HypervisorKind::pvm);
  EXPECT_EQ(classify_hypervisor({"kvm", "kvm_intel"}, none, true), HypervisorKind::kvm_intel);
  EXPECT_EQ(classify_hypervisor({"kvm", "kvm_amd"}, none, true), HypervisorKind::kvm_amd);
  EXPECT_EQ(classify_hypervisor({"kvm"}, none, true), HypervisorKind::kvm_unknown);
  EXPECT_EQ(classify_hypervisor({}, none, true), HypervisorKind::kvm_unknown);
  EXPECT_EQ(classify_hypervisor({}, none, false), HypervisorKind::none);
}

TEST(ClassifyHypervisor, CpuFlagsAloneDoNotMakeKvm) {
  // VT-x in the CPU but no module loaded: nothing serves /dev/kvm yet.
  EXPECT_EQ(classify_hypervisor({}, parse_cpuinfo_flags(kIntelCpuinfo), false),
            HypervisorKind::none);
}

TEST(HypervisorKindNames, AreStable) {
  EXPECT_EQ(to_string(HypervisorKind::kvm_intel), "kvm-intel");
  EXPECT_EQ(to_string(HypervisorKind::kvm_amd), "kvm-amd");
  EXPECT_EQ(to_string(HypervisorKind::pvm), "pvm");
  EXPECT_EQ(to_string(HypervisorKind::kvm_unknown), "kvm-unknown");
  EXPECT_EQ(to_string(HypervisorKind::none), "none");
}

HostFacts working_kvm_facts(const char* cpuinfo, std::vector<std::string> modules) {
  HostFacts f;
  f.cpuinfo = cpuinfo;
  f.modules = std::move(modules);
  f.dev_kvm.exists = true;
  f.kvm_api_version = 12;
  return f;
}

TEST(EvaluateHost, PvmHostIsUsableButCannotBootStockKernels) {
  const auto caps = evaluate_host(working_kvm_facts(kPvmGuestCpuinfo, {"kvm", "kvm_pvm"}));
  EXPECT_TRUE(caps.kvm.usable());
  EXPECT_EQ(caps.hypervisor, HypervisorKind::pvm);
  EXPECT_FALSE(caps.hardware_kvm());
  EXPECT_FALSE(caps.boots_stock_kernels());
}

TEST(EvaluateHost, AmdHardwareKvmBootsStockKernels) {
  const auto caps = evaluate_host(working_kvm_facts(kAmdCpuinfo, {"kvm", "kvm_amd"}));
  EXPECT_TRUE(caps.kvm.usable());
  EXPECT_EQ(caps.hypervisor, HypervisorKind::kvm_amd);
  EXPECT_TRUE(caps.cpu.svm);
  EXPECT_TRUE(caps.boots_stock_kernels());
}

TEST(EvaluateHost, IntelHardwareKvmBootsStockKernels) {
  const auto caps = evaluate_host(working_kvm_facts(kIntelCpuinfo, {"kvm", "kvm_intel"}));
  EXPECT_EQ(caps.hypervisor, HypervisorKind::kvm_intel);
  EXPECT_TRUE(caps.boots_stock_kernels());
}

TEST(EvaluateHost, UnopenableDeviceIsNotUsable) {
  HostFacts f = working_kvm_facts(kIntelCpuinfo, {"kvm", "kvm_intel"});
  f.dev_kvm.open_errno = EACCES;
  f.kvm_api_version.reset();
  const auto caps = evaluate_host(f);
  EXPECT_TRUE(caps.kvm.present);
  EXPECT_FALSE(caps.kvm.openable);
  EXPECT_EQ(caps.kvm.open_errno, EACCES);
  EXPECT_FALSE(caps.kvm.usable());
  EXPECT_FALSE(caps.boots_stock_kernels());
}

TEST(EvaluateHost, WrongApiVersionOrMissingCapabilityIsNotUsable) {
  HostFacts old_api = working_kvm_facts(kAmdCpuinfo, {"kvm", "kvm_amd"});
  old_api.kvm_api_version = 11;
  EXPECT_FALSE(evaluate_host(old_api).kvm.usable());

  HostFacts no_answer = working_kvm_facts(kAmdCpuinfo, {"kvm", "kvm_amd"});
  no_answer.kvm_api_version.reset();
  EXPECT_FALSE(evaluate_host(no_answer).kvm.usable());

  HostFacts no_pit = working_kvm_facts(kAmdCpuinfo, {"kvm", "kvm_amd"});
  no_pit.kvm_missing_caps = {"KVM_CAP_PIT2"};
  const auto caps = evaluate_host(no_pit);
  EXPECT_FALSE(caps.kvm.usable());
  ASSERT_EQ(caps.kvm.missing_caps.size(), 1u);
  EXPECT_EQ(caps.kvm.missing_caps[0], "KVM_CAP_PIT2");
}

TEST(EvaluateHost, NoKvmAtAll) {
  HostFacts f;
  f.cpuinfo = kIntelCpuinfo;
  const auto caps = evaluate_host(f);
  EXPECT_FALSE(caps.kvm.present);
  EXPECT_EQ(caps.kvm.open_errno, ENOENT);
  EXPECT_EQ(caps.hypervisor, HypervisorKind::none);
  EXPECT_TRUE(caps.cpu.vmx);  // so doctor can say "modprobe kvm_intel"
}

TEST(EvaluateHost, Vsock) {
  HostFacts f = working_kvm_facts(kAmdCpuinfo, {"kvm", "kvm_amd"});
  f.dev_vhost_vsock.exists = true;
  f.af_vsock_errno = EAFNOSUPPORT;
  auto caps = evaluate_host(f);
  EXPECT_TRUE(caps.vsock.vhost_present);
  EXPECT_TRUE(caps.vsock.vhost_openable);
  EXPECT_FALSE(caps.vsock.af_vsock);
  EXPECT_EQ(caps.vsock.af_vsock_errno, EAFNOSUPPORT);

  f.dev_vhost_vsock.open_errno = EACCES;
  f.af_vsock_errno = 0;
  caps = evaluate_host(f);
  EXPECT_TRUE(caps.vsock.vhost_present);
  EXPECT_FALSE(caps.vsock.vhost_openable);
  EXPECT_EQ(caps.vsock.vhost_open_errno, EACCES);
  EXPECT_TRUE(caps.vsock.af_vsock);

  f.dev_vhost_vsock = {};
  caps = evaluate_host(f);
  EXPECT_FALSE(caps.vsock.vhost_present);
  EXPECT_EQ(caps.vsock.vhost_open_errno, ENOENT);
}

TEST(ConfigDeclaresPvmGuest, OnlyTheEnabledOption) {
  EXPECT_TRUE(config_declares_pvm_guest("CONFIG_X=y\nCONFIG_PVM_GUEST=y\nCONFIG_Y=m\n"));
  EXPECT_TRUE(config_declares_pvm_guest("CONFIG_PVM_GUEST=y"));
  EXPECT_TRUE(config_declares_pvm_guest("CONFIG_PVM_GUEST=y\r\n"));
  EXPECT_FALSE(config_declares_pvm_guest("# CONFIG_PVM_GUEST is not set\n"));
  EXPECT_FALSE(config_declares_pvm_guest("CONFIG_PVM_GUEST_X=y\n"));
  EXPECT_FALSE(config_declares_pvm_guest(""));
}

// probe_host_facts() against a fake /proc, /sys and /dev: checks the
// plumbing (paths, open errors, a non-KVM file) without root.
class ProbeFakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("voidbox-probe-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "sys/module");
    fs::create_directories(root_ / "dev");
    paths_.cpuinfo = (root_ / "cpuinfo").string();
    paths_.sys_module = (root_ / "sys/module").string();
    paths_.dev_kvm = (root_ / "dev/kvm").string();
    paths_.dev_vhost_vsock = (root_ / "dev/vhost-vsock").string();
    paths_.probe_af_vsock = false;
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  fs::path root_;
  ProbePaths paths_;
};

TEST_F(ProbeFakeTree, ReadsCpuinfoAndModules) {
  write(root_ / "cpuinfo", kAmdCpuinfo);
  fs::create_directories(root_ / "sys/module/kvm");
  fs::create_directories(root_ / "sys/module/kvm_amd");
  fs::create_directories(root_ / "sys/module/unrelated");
  const HostFacts f = probe_host_facts(paths_);
  EXPECT_EQ(f.cpuinfo, kAmdCpuinfo);
  EXPECT_EQ(f.modules, (std::vector<std::string>{"kvm", "kvm_amd"}));
  EXPECT_FALSE(f.dev_kvm.exists);
  EXPECT_FALSE(f.dev_vhost_vsock.exists);
  EXPECT_EQ(evaluate_host(f).hypervisor, HypervisorKind::kvm_amd);
}

TEST_F(ProbeFakeTree, NonKvmDeviceFileHasNoApiVersion) {
  write(root_ / "cpuinfo", kAmdCpuinfo);
  write(root_ / "dev/kvm", "");  // opens, but KVM_GET_API_VERSION fails (ENOTTY)
  write(root_ / "dev/vhost-vsock", "");
  const HostFacts f = probe_host_facts(paths_);
  EXPECT_TRUE(f.dev_kvm.exists);
  EXPECT_EQ(f.dev_kvm.open_errno, 0);
  EXPECT_FALSE(f.kvm_api_version.has_value());
  EXPECT_TRUE(f.dev_vhost_vsock.openable());
  const auto caps = evaluate_host(f);
  EXPECT_TRUE(caps.kvm.openable);
  EXPECT_FALSE(caps.kvm.usable());
}

TEST_F(ProbeFakeTree, UnopenableDeviceRecordsErrno) {
  write(root_ / "cpuinfo", kIntelCpuinfo);
  fs::create_directories(root_ / "dev/kvm");  // a directory: open(O_RDWR) gives EISDIR
  const HostFacts f = probe_host_facts(paths_);
  EXPECT_TRUE(f.dev_kvm.exists);
  EXPECT_EQ(f.dev_kvm.open_errno, EISDIR);
  EXPECT_FALSE(evaluate_host(f).kvm.usable());
}

// The real host: whatever it is, the verdict must agree with the raw signs
// scripts/vmtest.sh also uses.
TEST(ProbeRealHost, AgreesWithSysfs) {
  const auto caps = probe_host();
  const bool pvm_module = fs::exists("/sys/module/kvm_pvm");
  EXPECT_EQ(caps.hypervisor == HypervisorKind::pvm, pvm_module);
  if (pvm_module) {
    EXPECT_FALSE(caps.boots_stock_kernels());
  }
  EXPECT_EQ(caps.kvm.present, fs::exists("/dev/kvm"));
  if (caps.kvm.openable) {
    ASSERT_TRUE(caps.kvm.api_version.has_value());
    EXPECT_EQ(*caps.kvm.api_version, 12);
  }
}

}  // namespace
}  // namespace voidbox::kvm::host
