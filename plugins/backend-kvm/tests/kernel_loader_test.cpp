#include "vmm/kernel_loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vmm/boot_params.hpp"
#include "vmm/layout.hpp"

namespace voidbox::kvm {
namespace {

class KernelLoader : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kvm-loader-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::vector<std::uint8_t>& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  // A minimal bzImage: 1 setup sector + boot sector, then `payload` bytes.
  std::vector<std::uint8_t> bzimage(std::uint16_t version, std::size_t payload) {
    std::vector<std::uint8_t> img(2 * 512 + payload, 0);
    img[bootp::kSetupSects] = 1;
    bootp::put<std::uint16_t>(img.data(), bootp::kBootFlag, 0xaa55);
    img[0x201] = 0x66;  // setup header length - 2
    bootp::put<std::uint32_t>(img.data(), bootp::kHeaderMagic, bootp::kMagicHdrS);
    bootp::put<std::uint16_t>(img.data(), bootp::kVersion, version);
    bootp::put<std::uint32_t>(img.data(), bootp::kInitrdAddrMax, 0x7fffffff);
    bootp::put<std::uint16_t>(img.data(), bootp::kXLoadFlags, bootp::kXlfKernel64);
    bootp::put<std::uint32_t>(img.data(), bootp::kCmdlineSize, 2047);
    bootp::put<std::uint64_t>(img.data(), bootp::kPrefAddress, 0x1000000);
    bootp::put<std::uint32_t>(img.data(), bootp::kInitSize, 0x400000);
    for (std::size_t i = 0; i < payload; ++i) img[1024 + i] = static_cast<std::uint8_t>(i * 7);
    return img;
  }

  std::string dir_;
};

TEST_F(KernelLoader, LoadsBzImageThroughThe64BitProtocol) {
  auto ram = GuestRam::create(128);
  ASSERT_TRUE(ram);
  const auto kernel = write("bzImage", bzimage(0x020f, 5000));
  const auto initrd = write("initrd", std::vector<std::uint8_t>(10000, 0x5a));
  auto entry = load_kernel(*ram, {kernel, initrd, "console=ttyS0 quiet", 0xe0000});
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->entry, 0x1000200u);
  EXPECT_EQ(entry->zero_page, layout::kZeroPageAddr);

  std::vector<std::uint8_t> loaded(5000);
  ASSERT_TRUE(ram->memory().read(0x1000000, std::as_writable_bytes(std::span(loaded))));
  for (std::size_t i = 0; i < loaded.size(); ++i)
    ASSERT_EQ(loaded[i], static_cast<std::uint8_t>(i * 7));

  std::vector<std::uint8_t> zp(4096);
  ASSERT_TRUE(ram->memory().read(layout::kZeroPageAddr, std::as_writable_bytes(std::span(zp))));
  EXPECT_EQ(zp[bootp::kTypeOfLoader], 0xff);
  EXPECT_EQ(bootp::get<std::uint32_t>(zp.data(), bootp::kHeaderMagic), bootp::kMagicHdrS);
  EXPECT_EQ(bootp::get<std::uint32_t>(zp.data(), bootp::kCmdLinePtr), layout::kCmdlineAddr);
  EXPECT_EQ(bootp::get<std::uint64_t>(zp.data(), bootp::kAcpiRsdpAddr), 0xe0000u);
  const auto rd = bootp::get<std::uint32_t>(zp.data(), bootp::kRamdiskImage);
  EXPECT_EQ(bootp::get<std::uint32_t>(zp.data(), bootp::kRamdiskSize), 10000u);
  EXPECT_EQ(rd % 4096, 0u);
  EXPECT_LE(rd + 10000u, 128u << 20);
  EXPECT_GE(rd, 0x1400000u);  // above the kernel's init_size
  EXPECT_EQ(ram->memory().read_le<std::uint8_t>(rd).value(), 0x5a);

  char cmdline[32] = {};
  ASSERT_TRUE(ram->memory().read(layout::kCmdlineAddr, std::as_writable_bytes(std::span(cmdline))));
  EXPECT_STREQ(cmdline, "console=ttyS0 quiet");

  // e820: low RAM, the legacy hole, RAM from 1 MiB to the end.
  ASSERT_EQ(zp[bootp::kE820Entries], 3);
  EXPECT_EQ(bootp::get<std::uint64_t>(zp.data(), bootp::kE820Table + 40), 0x100000u);
  EXPECT_EQ(bootp::get<std::uint64_t>(zp.data(), bootp::kE820Table + 48), (128u << 20) - 0x100000u);
}

TEST_F(KernelLoader, E820HasOneRamEntryPerMemslotAroundTheHole) {
  auto ram = GuestRam::create(4096);
  ASSERT_TRUE(ram);
  const auto kernel = write("bzImage", bzimage(0x020f, 100));
  ASSERT_TRUE(load_kernel(*ram, {kernel, "", "x", 0}));
  std::vector<std::uint8_t> zp(4096);
  ASSERT_TRUE(ram->memory().read(layout::kZeroPageAddr, std::as_writable_bytes(std::span(zp))));
  ASSERT_EQ(zp[bootp::kE820Entries], 4);
  EXPECT_EQ(bootp::get<std::uint64_t>(zp.data(), bootp::kE820Table + 48), 0xc0000000u - 0x100000u);
  EXPECT_EQ(bootp::get<std::uint64_t>(zp.data(), bootp::kE820Table + 60), 0x100000000u);
  EXPECT_EQ(bootp::get<std::uint64_t>(zp.data(), bootp::kE820Table + 68), 1ull << 30);
  ASSERT_EQ(ram->ranges().size(), 2u);
}

TEST_F(KernelLoader, RejectsOldProtocolsGarbageAndOversizedInputs) {
  auto ram = GuestRam::create(64);
  ASSERT_TRUE(ram);
  EXPECT_FALSE(load_kernel(*ram, {write("old", bzimage(0x0206, 100)), "", "", 0}));
  EXPECT_FALSE(
      load_kernel(*ram, {write("junk", std::vector<std::uint8_t>(4096, 0x11)), "", "", 0}));
  EXPECT_FALSE(load_kernel(*ram, {dir_ + "/missing", "", "", 0}));
  const auto kernel = write("bzImage", bzimage(0x020f, 100));
  EXPECT_FALSE(
      load_kernel(*ram, {kernel, write("big", std::vector<std::uint8_t>(70u << 20, 0)), "", 0}));
  EXPECT_FALSE(load_kernel(*ram, {kernel, "", std::string(3000, 'a'), 0}));
}

TEST(GuestRamSize, RejectsAbsurdSizes) {
  EXPECT_FALSE(GuestRam::create(1));
  EXPECT_FALSE(GuestRam::create(1u << 20));
}

}  // namespace
}  // namespace voidbox::kvm
