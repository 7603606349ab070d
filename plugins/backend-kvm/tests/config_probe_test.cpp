#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "vmm/host_probe.hpp"
#include "vmm/serial.hpp"
#include "vmm/vm_config.hpp"

namespace voidbox::kvm {
namespace {

TEST(VmConfig, ParsesTheDocumentedKeys) {
  auto c = parse_vm_config(R"({"name":"a","kernel":"/k","initramfs":"/i","cmdline":"x=1",
    "guest_args":["voidbox.secret=ab"],"memory_mb":2048,"vcpus":4,"state_dir":"/s",
    "vsock_cid":7,"serial_log":"/s/log","network":false,"future_key":1,
    "devices":[{"type":"virtio-blk","config":{"path":"/d"}}]})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->memory_mb, 2048u);
  EXPECT_EQ(c->vcpus, 4u);
  EXPECT_EQ(c->vsock_cid, 7u);
  ASSERT_EQ(c->devices.size(), 1u);
  EXPECT_EQ(c->devices[0].config_json, R"({"path":"/d"})");
  EXPECT_EQ(vsock_socket_path(*c), "/s/vsock.sock");
  const std::string cmdline = kernel_cmdline(*c);
  EXPECT_EQ(cmdline.rfind("console=ttyS0", 0), 0u);
  EXPECT_NE(cmdline.find(" x=1 voidbox.secret=ab"), std::string::npos);
}

TEST(VmConfig, RejectsBadValuesWithTheKeyName) {
  const auto err = [](const char* json) {
    auto c = parse_vm_config(json);
    return c ? std::string() : c.error().message;
  };
  EXPECT_NE(err(R"({"state_dir":"/s"})").find("kernel"), std::string::npos);
  EXPECT_NE(err(R"({"kernel":"/k"})").find("state_dir"), std::string::npos);
  EXPECT_NE(err(R"({"kernel":"/k","state_dir":"/s","vcpus":0})").find("vcpus"), std::string::npos);
  EXPECT_NE(err(R"({"kernel":"/k","state_dir":"/s","vcpus":65})").find("vcpus"), std::string::npos);
  EXPECT_NE(err(R"({"kernel":"/k","state_dir":"/s","memory_mb":-5})").find("memory_mb"),
            std::string::npos);
  EXPECT_NE(err(R"({"kernel":"/k","state_dir":"/s","vsock_cid":2})").find("vsock_cid"),
            std::string::npos);
  EXPECT_NE(err(R"({"kernel":"/k","state_dir":"/s","guest_args":["a b"]})").find("guest_args"),
            std::string::npos);
  EXPECT_FALSE(err("[1,2]").empty());
  EXPECT_FALSE(err("{").empty());
}

class PvmProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("VOIDBOX_FAKE_PVM_HOST", "1", 1);
    ::unsetenv("VOIDBOX_ALLOW_PVM");
    char tmpl[] = "/tmp/kvm-pvm-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/vmlinuz") << "kernel";
  }
  void TearDown() override {
    ::unsetenv("VOIDBOX_FAKE_PVM_HOST");
    ::unsetenv("VOIDBOX_ALLOW_PVM");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(PvmProbe, RefusesAStockKernelOnPvmAndSaysWhy) {
  auto r = check_kernel_runs_here(dir_ + "/vmlinuz");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("PVM"), std::string::npos);
  EXPECT_NE(r.error().message.find("CONFIG_PVM_GUEST"), std::string::npos);
  EXPECT_NE(r.error().message.find("vmtest.sh"), std::string::npos);
}

TEST_F(PvmProbe, AcceptsAPvmGuestKernelOrAnExplicitOverride) {
  std::ofstream(dir_ + "/config") << "CONFIG_X=y\nCONFIG_PVM_GUEST=y\n";
  EXPECT_TRUE(check_kernel_runs_here(dir_ + "/vmlinuz"));
  std::filesystem::remove(dir_ + "/config");
  ::setenv("VOIDBOX_ALLOW_PVM", "1", 1);
  EXPECT_TRUE(check_kernel_runs_here(dir_ + "/vmlinuz"));
}

TEST_F(PvmProbe, NonPvmHostsAcceptAnyKernel) {
  ::setenv("VOIDBOX_FAKE_PVM_HOST", "0", 1);
  EXPECT_TRUE(check_kernel_runs_here(dir_ + "/vmlinuz"));
}

TEST(Serial, RaisesThreOnEnableAndAfterEachByteAndLogsLines) {
  char tmpl[] = "/tmp/kvm-serial-test.XXXXXX";
  const int fd = ::mkstemp(tmpl);
  int irqs = 0;
  std::vector<std::string> lines;
  {
    Serial uart(
        fd, [&] { ++irqs; }, [&](const std::string& l) { lines.push_back(l); });
    EXPECT_EQ(uart.read(5) & 0x60, 0x60);  // THR empty
    EXPECT_EQ(uart.read(2) & 0x0f, 0x01);  // no interrupt pending
    uart.write(1, 0x02);                   // enable THRE interrupt
    EXPECT_EQ(irqs, 1);
    EXPECT_EQ(uart.read(2) & 0x0f, 0x02);  // THRE pending, cleared by reading IIR
    EXPECT_EQ(uart.read(2) & 0x0f, 0x01);
    const std::string text = "hi\nKernel panic - not syncing: x\n";
    for (char c : text) uart.write(0, static_cast<std::uint8_t>(c));
    EXPECT_EQ(irqs, 1 + static_cast<int>(text.size()));
    uart.write(3, 0x80);  // DLAB: offsets 0/1 are the divisor, no output
    uart.write(0, 'Z');
    uart.write(3, 0x03);
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "hi");
  std::ifstream in(tmpl);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  EXPECT_EQ(all, "hi\nKernel panic - not syncing: x\n");
  ::close(fd);
  ::unlink(tmpl);
}

}  // namespace
}  // namespace voidbox::kvm
