// Loads libbackend-kvm.so the way the runtime does and checks what works
// without booting a guest: registration, probe and create on a PVM host (or
// without /dev/kvm), the vm lifecycle against a voidbox-vmm that fails its
// config. Checks that need the other kind of host say so as a skip.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "voidbox/plugin_abi.h"

namespace {

const vb_backend_vtable* g_backend = nullptr;

vb_status register_factory(void*, vb_kind kind, const char* name, const void* vtable) {
  if (kind == VB_KIND_BACKEND && std::strcmp(name, "kvm") == 0) {
    g_backend = static_cast<const vb_backend_vtable*>(vtable);
  }
  return VB_OK;
}

void log_nothing(void*, vb_log_level, const char*) {}

class KvmPlugin : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = std::string(VOIDBOX_KVM_PLUGIN_PATH);
    handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << ::dlerror();
    auto entry =
        reinterpret_cast<vb_plugin_entry_fn>(::dlsym(handle_, VOIDBOX_PLUGIN_ENTRY_SYMBOL));
    ASSERT_NE(entry, nullptr);
    const vb_plugin_descriptor* d = entry();
    ASSERT_EQ(d->abi_major, VOIDBOX_ABI_MAJOR);
    ASSERT_STREQ(d->name, "backend-kvm");
    vb_registrar reg{sizeof(vb_registrar), nullptr,          VOIDBOX_ABI_MAJOR,
                     VOIDBOX_ABI_MINOR,    register_factory, log_nothing};
    char msg[256] = {};
    vb_error err{sizeof(vb_error), msg, sizeof msg};
    ASSERT_EQ(d->init(&reg, &err), VB_OK) << msg;
    ASSERT_NE(g_backend, nullptr);
  }

  void SetUp() override {
    char tmpl[] = "/tmp/kvm-plugin-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/vmlinuz") << "not a kernel";
  }
  void TearDown() override {
    ::unsetenv("VOIDBOX_FAKE_PVM_HOST");
    ::unsetenv("VOIDBOX_ALLOW_PVM");
    std::filesystem::remove_all(dir_);
  }

  std::string config() const {
    return R"({"kernel":")" + dir_ + R"(/vmlinuz","state_dir":")" + dir_ +
           R"(","memory_mb":128,"vcpus":1})";
  }

  static inline void* handle_ = nullptr;
  std::string dir_;
  char msg_[512] = {};
  vb_error err_{sizeof(vb_error), msg_, sizeof msg_};
};

bool have_kvm() {
  return ::access("/dev/kvm", R_OK | W_OK) == 0;
}

TEST_F(KvmPlugin, OnAPvmHostProbeAndCreateRefuseStockKernelsWithTheReason) {
  // The PVM checks come after opening /dev/kvm; without one they cannot run.
  if (!have_kvm()) GTEST_SKIP() << "no usable /dev/kvm: the PVM refusal is not reached";
  ::setenv("VOIDBOX_FAKE_PVM_HOST", "1", 1);
  EXPECT_EQ(g_backend->probe(&err_), VB_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(msg_).find("PVM"), std::string::npos) << msg_;
  vb_vm* vm = nullptr;
  const std::string c = config();
  EXPECT_EQ(g_backend->create(c.data(), c.size(), &vm, &err_), VB_ERR_UNSUPPORTED);
  EXPECT_EQ(vm, nullptr);
  EXPECT_NE(std::string(msg_).find("CONFIG_PVM_GUEST"), std::string::npos) << msg_;
}

TEST_F(KvmPlugin, WithoutKvmProbeAndCreateNameTheMissingDevice) {
  if (have_kvm()) GTEST_SKIP() << "/dev/kvm is usable here: the missing-device path is not reached";
  EXPECT_EQ(g_backend->probe(&err_), VB_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(msg_).find("/dev/kvm"), std::string::npos) << msg_;
  vb_vm* vm = nullptr;
  const std::string c = config();
  EXPECT_EQ(g_backend->create(c.data(), c.size(), &vm, &err_), VB_ERR_UNSUPPORTED);
  EXPECT_EQ(vm, nullptr);
  EXPECT_NE(std::string(msg_).find("/dev/kvm"), std::string::npos) << msg_;
}

TEST_F(KvmPlugin, CreateRejectsBadConfigs) {
  vb_vm* vm = nullptr;
  const std::string bad = R"({"kernel":"/k"})";
  EXPECT_EQ(g_backend->create(bad.data(), bad.size(), &vm, &err_), VB_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(msg_).find("state_dir"), std::string::npos);
}

TEST_F(KvmPlugin, AVmmThatFailsIsReportedAsACrashWithItsReason) {
  if (!have_kvm()) GTEST_SKIP() << "no /dev/kvm";
  ::setenv("VOIDBOX_FAKE_PVM_HOST", "0", 1);  // reach voidbox-vmm, which rejects the kernel
  vb_vm* vm = nullptr;
  const std::string c = config();
  ASSERT_EQ(g_backend->create(c.data(), c.size(), &vm, &err_), VB_OK) << msg_;
  ASSERT_EQ(g_backend->start(vm, &err_), VB_OK) << msg_;
  vb_exit_info info{};
  info.struct_size = sizeof info;
  ASSERT_EQ(g_backend->wait(vm, 30000, &info), VB_OK);
  EXPECT_EQ(info.reason, VB_EXIT_CRASH);
  EXPECT_NE(std::string(info.detail).find("bzImage"), std::string::npos) << info.detail;
  int fd = -1;
  EXPECT_NE(g_backend->connect(vm, 1234, &fd, &err_), VB_OK);  // the VM is gone: fails fast
  EXPECT_EQ(g_backend->stop(vm, 1000, &err_), VB_OK);
  g_backend->destroy(vm);
}

}  // namespace
