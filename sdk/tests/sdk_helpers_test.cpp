// The SDK's C++ helpers, driven through the C vtables they generate exactly
// as the host would call them.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "voidbox/sdk/all.hpp"

namespace {

using voidbox::sdk::ErrorBuffer;
using voidbox::sdk::fail;
using voidbox::sdk::Result;

TEST(WriteError, TruncatesAndTerminates) {
  char storage[8];
  std::memset(storage, 'z', sizeof storage);
  vb_error error{sizeof(vb_error), storage, sizeof storage};
  voidbox::sdk::write_error(&error, "a long message");
  EXPECT_STREQ(storage, "a long ");
  voidbox::sdk::write_error(&error, "");
  EXPECT_STREQ(storage, "");
}

TEST(WriteError, ToleratesMissingOrShortBuffers) {
  voidbox::sdk::write_error(nullptr, "x");
  vb_error no_buffer{sizeof(vb_error), nullptr, 10};
  voidbox::sdk::write_error(&no_buffer, "x");
  char one[1] = {'q'};
  vb_error tiny{sizeof(vb_error), one, 1};
  voidbox::sdk::write_error(&tiny, "xyz");
  EXPECT_EQ(one[0], '\0');
  char small[4] = {'q', 'q', 'q', 'q'};
  vb_error old_struct{sizeof(size_t), small, sizeof small};  // too small to hold the fields
  voidbox::sdk::write_error(&old_struct, "x");
  EXPECT_EQ(small[0], 'q');
}

TEST(ErrorBuffer, DescribesStatusWhenCalleeWroteNothing) {
  ErrorBuffer buffer;
  EXPECT_EQ(buffer.describe(VB_ERR_TIMEOUT), "timeout");
  voidbox::sdk::write_error(buffer.get(), "took too long");
  EXPECT_EQ(buffer.describe(VB_ERR_TIMEOUT), "took too long");
}

TEST(Guarded, TurnsExceptionsAndFailuresIntoStatus) {
  ErrorBuffer e1;
  EXPECT_EQ(voidbox::sdk::guarded(e1.get(), []() -> Result<> { throw std::runtime_error("boom"); }),
            VB_ERR_INTERNAL);
  EXPECT_EQ(e1.message(), "boom");
  ErrorBuffer e2;
  EXPECT_EQ(voidbox::sdk::guarded(e2.get(), []() -> Result<> { throw 42; }), VB_ERR_INTERNAL);
  EXPECT_EQ(e2.message(), "unknown exception");
  ErrorBuffer e3;
  EXPECT_EQ(voidbox::sdk::guarded(e3.get(), []() -> Result<> { return fail(VB_ERR_IO, "disk"); }),
            VB_ERR_IO);
  EXPECT_EQ(e3.message(), "disk");
  ErrorBuffer e4;
  EXPECT_EQ(voidbox::sdk::guarded(e4.get(), []() -> Result<> { return fail(VB_OK, "odd"); }),
            VB_ERR_INTERNAL);
}

class CountingExporter final : public voidbox::sdk::Exporter {
 public:
  static inline int live = 0;
  static Result<std::unique_ptr<CountingExporter>> create(std::string_view config) {
    if (config == "throw") throw std::invalid_argument("bad config");
    if (config.empty()) return fail(VB_ERR_INVALID_ARGUMENT, "empty config");
    return std::make_unique<CountingExporter>();
  }
  CountingExporter() { ++live; }
  ~CountingExporter() override { --live; }
  Result<> export_record(vb_record_kind kind, std::string_view record) override {
    records.push_back(std::to_string(kind) + ":" + std::string(record));
    return {};
  }
  std::vector<std::string> records;
};

TEST(ExporterVtable, RoundTripsThroughTheCAbi) {
  const vb_exporter_vtable* vt = voidbox::sdk::exporter_vtable<CountingExporter>();
  ASSERT_EQ(vt->struct_size, sizeof(vb_exporter_vtable));
  ErrorBuffer error;
  vb_exporter* handle = reinterpret_cast<vb_exporter*>(0x1);
  EXPECT_EQ(vt->create("", 0, &handle, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(error.message(), "empty config");
  EXPECT_EQ(vt->create("throw", 5, &handle, error.get()), VB_ERR_INTERNAL);
  EXPECT_EQ(error.message(), "bad config");
  EXPECT_EQ(vt->create(nullptr, 0, nullptr, error.get()), VB_ERR_INVALID_ARGUMENT);

  ASSERT_EQ(vt->create("{}x", 2, &handle, error.get()), VB_OK);  // length, not NUL, bounds it
  EXPECT_EQ(CountingExporter::live, 1);
  EXPECT_EQ(vt->export_record(handle, VB_RECORD_METRIC, "{\"v\":1}trailing", 7, error.get()),
            VB_OK);
  EXPECT_EQ(vt->flush(handle, error.get()), VB_OK);
  EXPECT_EQ(reinterpret_cast<CountingExporter*>(handle)->records,
            std::vector<std::string>{"2:{\"v\":1}"});
  EXPECT_EQ(vt->export_record(nullptr, VB_RECORD_LOG, "{}", 2, error.get()),
            VB_ERR_INVALID_ARGUMENT);
  vt->destroy(handle);
  EXPECT_EQ(CountingExporter::live, 0);
  vt->destroy(nullptr);
}

class ScriptedVm final : public voidbox::sdk::Vm {
 public:
  Result<> start() override { return {}; }
  Result<int> connect(std::uint32_t port) override {
    if (port == 0) return fail(VB_ERR_INVALID_ARGUMENT, "port 0");
    return 77;
  }
  Result<voidbox::sdk::ExitInfo> wait(std::int32_t timeout_ms) override {
    if (timeout_ms < 0) throw std::runtime_error("wait exploded");
    return voidbox::sdk::ExitInfo{VB_EXIT_POWEROFF, 3, std::string(400, 'd')};
  }
  Result<> stop(std::int32_t) override { return {}; }
};

struct ScriptedBackend {
  static Result<> probe() { return fail(VB_ERR_UNSUPPORTED, "no /dev/kvm: load the kvm module"); }
  static Result<std::unique_ptr<ScriptedVm>> create(std::string_view) {
    return std::make_unique<ScriptedVm>();
  }
};

TEST(BackendVtable, RoundTripsThroughTheCAbi) {
  const vb_backend_vtable* vt = voidbox::sdk::backend_vtable<ScriptedBackend>();
  ErrorBuffer error;
  EXPECT_EQ(vt->probe(error.get()), VB_ERR_UNSUPPORTED);
  EXPECT_EQ(error.message(), "no /dev/kvm: load the kvm module");

  vb_vm* vm = nullptr;
  ASSERT_EQ(vt->create("{}", 2, &vm, error.get()), VB_OK);
  EXPECT_EQ(vt->start(vm, error.get()), VB_OK);
  int fd = 0;
  EXPECT_EQ(vt->connect(vm, 0, &fd, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(vt->connect(vm, 1024, &fd, error.get()), VB_OK);
  EXPECT_EQ(fd, 77);

  vb_exit_info info{};
  info.struct_size = sizeof info;
  EXPECT_EQ(vt->wait(vm, 10, &info), VB_OK);
  EXPECT_EQ(info.reason, VB_EXIT_POWEROFF);
  EXPECT_EQ(info.code, 3);
  EXPECT_EQ(std::strlen(info.detail), sizeof info.detail - 1);  // truncated, terminated

  EXPECT_EQ(vt->wait(vm, -1, &info), VB_ERR_INTERNAL);
  EXPECT_EQ(info.reason, VB_EXIT_CRASH);
  EXPECT_STREQ(info.detail, "wait exploded");

  vb_exit_info old{};
  old.struct_size = 8;  // a host too old to have these fields: nothing written
  old.code = 55;
  EXPECT_EQ(vt->wait(vm, 10, &old), VB_OK);
  EXPECT_EQ(old.code, 55);

  EXPECT_EQ(vt->stop(vm, 10, error.get()), VB_OK);
  vt->destroy(vm);
}

// A whole plugin defined with the macro, initialised through a fake host.
struct FakeHost {
  std::vector<std::string> registered;
  std::vector<std::string> logs;
  bool refuse = false;
};

Result<> test_plugin_init(voidbox::sdk::Registrar& registrar) {
  voidbox::sdk::Log::info("hello from init");
  return registrar.add_exporter("counting", voidbox::sdk::exporter_vtable<CountingExporter>());
}

}  // namespace

VOIDBOX_DEFINE_PLUGIN("sdk-test", "9.9.9", "defined by the macro", test_plugin_init)

namespace {

vb_registrar fake_registrar(FakeHost& host) {
  vb_registrar r{};
  r.struct_size = sizeof r;
  r.host_ctx = &host;
  r.host_abi_major = VOIDBOX_ABI_MAJOR;
  r.host_abi_minor = VOIDBOX_ABI_MINOR;
  r.register_factory = [](void* ctx, vb_kind kind, const char* name, const void*) {
    auto* h = static_cast<FakeHost*>(ctx);
    if (h->refuse) return VB_ERR_INVALID_ARGUMENT;
    h->registered.push_back(std::to_string(kind) + ":" + name);
    return VB_OK;
  };
  r.log = [](void* ctx, vb_log_level level, const char* message) {
    static_cast<FakeHost*>(ctx)->logs.push_back(std::to_string(level) + ":" + message);
  };
  return r;
}

TEST(DefinePlugin, ProducesADescriptorAndAWorkingInit) {
  const vb_plugin_descriptor* d = voidbox_plugin_entry();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->struct_size, sizeof(vb_plugin_descriptor));
  EXPECT_EQ(d->abi_major, VOIDBOX_ABI_MAJOR);
  EXPECT_EQ(d->abi_minor, VOIDBOX_ABI_MINOR);
  EXPECT_STREQ(d->name, "sdk-test");
  EXPECT_STREQ(d->version, "9.9.9");

  FakeHost host;
  vb_registrar r = fake_registrar(host);
  ErrorBuffer error;
  ASSERT_EQ(d->init(&r, error.get()), VB_OK) << error.message();
  EXPECT_EQ(host.registered, std::vector<std::string>{"5:counting"});
  EXPECT_EQ(host.logs, std::vector<std::string>{"2:hello from init"});
  voidbox::sdk::Log::warn("later");
  d->shutdown();
  voidbox::sdk::Log::warn("after shutdown is dropped");
  EXPECT_EQ(host.logs.size(), 2u);
  EXPECT_EQ(host.logs[1], "3:later");
}

TEST(DefinePlugin, InitFailsWhenTheHostRefusesAFactory) {
  FakeHost host;
  host.refuse = true;
  vb_registrar r = fake_registrar(host);
  ErrorBuffer error;
  EXPECT_EQ(voidbox_plugin_entry()->init(&r, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(error.message(), "host refused factory 'counting': invalid argument");
  // A registrar too old to have the fields init needs is refused cleanly.
  r.struct_size = sizeof(size_t);
  EXPECT_EQ(voidbox_plugin_entry()->init(&r, error.get()), VB_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(error.message(), "host passed an incomplete registrar");
}

}  // namespace
