#include "vmm/acpi_tables.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "vmm/aml.hpp"

namespace voidbox::kvm {
namespace {

constexpr std::uint64_t kBase = 0xe0000;

std::uint8_t sum(const std::uint8_t* p, std::size_t n) {
  std::uint8_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s = static_cast<std::uint8_t>(s + p[i]);
  return s;
}

template <typename T>
T at(const std::vector<std::uint8_t>& img, std::size_t off) {
  T v;
  std::memcpy(&v, img.data() + off, sizeof v);
  return v;
}

// Finds the table with `sig` through RSDP -> XSDT (and FADT -> DSDT).
std::size_t find_table(const std::vector<std::uint8_t>& img, const char* sig) {
  const auto xsdt = at<std::uint64_t>(img, 24) - kBase;
  const auto xsdt_len = at<std::uint32_t>(img, xsdt + 4);
  for (std::size_t off = 36; off < xsdt_len; off += 8) {
    const auto t = at<std::uint64_t>(img, xsdt + off) - kBase;
    if (std::memcmp(img.data() + t, sig, 4) == 0) return t;
    if (std::memcmp(sig, "DSDT", 4) == 0 && std::memcmp(img.data() + t, "FACP", 4) == 0) {
      return at<std::uint64_t>(img, t + 140) - kBase;
    }
  }
  return 0;
}

TEST(AcpiTables, ChecksumsAndLinksAreValid) {
  AcpiInputs in{4, {{0xd0000000, 0x200, 16}, {0xd0001000, 0x200, 17}}};
  const auto img = build_acpi_tables(in, kBase);
  ASSERT_EQ(std::memcmp(img.data(), "RSD PTR ", 8), 0);
  EXPECT_EQ(sum(img.data(), 20), 0);
  EXPECT_EQ(sum(img.data(), 36), 0);
  for (const char* sig : {"FACP", "APIC", "DSDT"}) {
    const auto t = find_table(img, sig);
    ASSERT_NE(t, 0u) << sig;
    const auto len = at<std::uint32_t>(img, t + 4);
    ASSERT_LE(t + len, img.size()) << sig;
    EXPECT_EQ(sum(img.data() + t, len), 0) << sig;
  }
}

TEST(AcpiTables, MadtListsOneEnabledLapicPerVcpuAndTheIoapic) {
  const auto img = build_acpi_tables({3, {}}, kBase);
  const auto madt = find_table(img, "APIC");
  const auto len = at<std::uint32_t>(img, madt + 4);
  int lapics = 0, ioapics = 0;
  for (std::size_t off = madt + 44; off < madt + len; off += img[off + 1]) {
    ASSERT_GT(img[off + 1], 0);
    if (img[off] == 0) {
      EXPECT_EQ(img[off + 3], lapics);  // APIC id = vCPU index, as CPUID says
      EXPECT_EQ(img[off + 4] & 1, 1);
      ++lapics;
    }
    if (img[off] == 1) {
      EXPECT_EQ(at<std::uint32_t>(img, off + 4), 0xfec00000u);
      ++ioapics;
    }
  }
  EXPECT_EQ(lapics, 3);
  EXPECT_EQ(ioapics, 1);
}

TEST(AcpiTables, FadtIsHardwareReducedWithSleepRegisters) {
  const auto img = build_acpi_tables({1, {}}, kBase);
  const auto fadt = find_table(img, "FACP");
  EXPECT_TRUE(at<std::uint32_t>(img, fadt + 112) & (1u << 20));
  EXPECT_EQ(img[fadt + 244], 1);  // sleep control in I/O space
  EXPECT_EQ(at<std::uint64_t>(img, fadt + 248), 0x600u);
  EXPECT_EQ(at<std::uint64_t>(img, fadt + 260), 0x601u);
}

TEST(AcpiTables, DsdtDescribesEachVirtioDeviceAsLnro0005WithItsWindowAndGsi) {
  AcpiInputs in{1, {}};
  for (std::uint32_t i = 0; i < 5; ++i)
    in.virtio_mmio.push_back({0xd0000000 + i * 0x1000, 0x200, 16 + i});
  const auto img = build_acpi_tables(in, kBase);
  const auto dsdt = find_table(img, "DSDT");
  const std::string body(img.begin() + static_cast<long>(dsdt),
                         img.begin() + static_cast<long>(dsdt + at<std::uint32_t>(img, dsdt + 4)));
  std::size_t count = 0;
  for (auto p = body.find("LNRO0005"); p != std::string::npos; p = body.find("LNRO0005", p + 1))
    ++count;
  EXPECT_EQ(count, 5u);
  // Memory32Fixed of the last window, and its extended interrupt (level).
  const std::string mem = {'\x86', '\x09', '\x00', '\x01', '\x00', '\x40',
                           '\x00', '\xd0', '\x00', '\x02', '\x00', '\x00'};
  EXPECT_NE(body.find(mem), std::string::npos);
  const std::string irq = {'\x89', '\x06', '\x00', '\x01', '\x01', '\x14', '\x00', '\x00', '\x00'};
  EXPECT_NE(body.find(irq), std::string::npos);
  EXPECT_NE(body.find("COM1"), std::string::npos);
  EXPECT_NE(body.find("QEMU0001"), std::string::npos);
  EXPECT_NE(body.find("_S5_"), std::string::npos);
}

TEST(Aml, PkgLengthUsesMultipleBytesPastSixtyThreeAndCountsItself) {
  const std::uint8_t op = 0x11;
  const auto small = aml::with_pkg_length(1, &op, aml::Bytes(10, 0xaa));
  EXPECT_EQ(small[1], 11);
  const auto big = aml::with_pkg_length(1, &op, aml::Bytes(100, 0xaa));
  // Two PkgLength bytes: total 102 = 0x66 -> lead 0x46, next 0x06.
  EXPECT_EQ(big[1], 0x46);
  EXPECT_EQ(big[2], 0x06);
  EXPECT_EQ(big.size(), 1u + 2u + 100u);
}

TEST(Aml, EisaIdEncodesLikeIasl) {
  EXPECT_EQ(aml::eisa_id("PNP0501"), 0x0105d041u);
}

}  // namespace
}  // namespace voidbox::kvm
