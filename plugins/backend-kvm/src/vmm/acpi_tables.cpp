#include "acpi_tables.hpp"

#include <cstring>
#include <string_view>

#include "aml.hpp"
#include "layout.hpp"

namespace voidbox::kvm {
namespace {

using aml::Bytes;

template <typename T>
void put(Bytes& b, std::size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof(T));
}

std::uint8_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint8_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum = static_cast<std::uint8_t>(sum + p[i]);
  return static_cast<std::uint8_t>(-sum);
}

// A 36-byte system description table header followed by `body`.
Bytes sdt(std::string_view signature, std::uint8_t revision, const Bytes& body) {
  Bytes t(36, 0);
  std::memcpy(t.data(), signature.data(), 4);
  put<std::uint32_t>(t, 4, static_cast<std::uint32_t>(36 + body.size()));
  t[8] = revision;
  std::memcpy(t.data() + 10, "VOIDBX", 6);
  std::memcpy(t.data() + 16, "VOIDBOX ", 8);
  put<std::uint32_t>(t, 24, 1);
  std::memcpy(t.data() + 28, "VBOX", 4);
  put<std::uint32_t>(t, 32, 1);
  t.insert(t.end(), body.begin(), body.end());
  t[9] = checksum(t.data(), t.size());
  return t;
}

void gas_io(Bytes& b, std::size_t off, std::uint16_t port) {
  b[off] = 1;      // system I/O space
  b[off + 1] = 8;  // bit width
  b[off + 2] = 0;
  b[off + 3] = 1;  // byte access
  put<std::uint64_t>(b, off + 4, port);
}

Bytes dsdt_body(const AcpiInputs& in) {
  Bytes devices;
  // COM1, so the guest maps IRQ 4 through ACPI: a hardware-reduced machine
  // has no legacy PIC and thus no implicit ISA IRQ mapping.
  {
    Bytes rt;
    aml::io_port(rt, layout::kSerialPort, 8);
    aml::interrupt(rt, layout::kSerialIrq, true);
    aml::end_tag(rt);
    Bytes terms = aml::name("_HID", aml::integer(aml::eisa_id("PNP0501")));
    aml::append(terms, aml::name("_UID", aml::integer(0)));
    aml::append(terms, aml::name("_CRS", aml::buffer(rt)));
    aml::append(devices, aml::device("COM1", terms));
  }
  // pvpanic: the guest writes 1 to the port when the kernel panics.
  {
    Bytes rt;
    aml::io_port(rt, layout::kPvpanicPort, 1);
    aml::end_tag(rt);
    Bytes terms = aml::name("_HID", aml::string("QEMU0001"));
    aml::append(terms, aml::name("_UID", aml::integer(0)));
    aml::append(terms, aml::name("_CRS", aml::buffer(rt)));
    aml::append(devices, aml::device("PEVT", terms));
  }
  for (std::size_t i = 0; i < in.virtio_mmio.size(); ++i) {
    const auto& d = in.virtio_mmio[i];
    Bytes rt;
    aml::memory32_fixed(rt, static_cast<std::uint32_t>(d.base), static_cast<std::uint32_t>(d.size));
    // Level-triggered: the line stays up while InterruptStatus is non-zero,
    // the way virtio-mmio's interrupt is defined.
    aml::interrupt(rt, d.gsi, false);
    aml::end_tag(rt);
    Bytes terms = aml::name("_HID", aml::string("LNRO0005"));
    aml::append(terms, aml::name("_UID", aml::integer(i)));
    aml::append(terms, aml::name("_CRS", aml::buffer(rt)));
    const char hex[] = "0123456789ABCDEF";
    const char seg[4] = {'V', 'R', hex[(i >> 4) & 0xf], hex[i & 0xf]};
    aml::append(devices, aml::device(std::string_view(seg, 4), terms));
  }
  Bytes body = aml::root_scope("_SB_", devices);
  aml::append(
      body,
      aml::name("_S5_", aml::package({aml::integer(kSleepTypeS5), aml::integer(kSleepTypeS5)})));
  return body;
}

Bytes fadt_body(std::uint64_t dsdt_addr) {
  Bytes b(276 - 36, 0);
  const auto at = [](std::size_t table_offset) { return table_offset - 36; };
  put<std::uint32_t>(b, at(40), static_cast<std::uint32_t>(dsdt_addr));
  // IAPC_BOOT_ARCH: no VGA, no CMOS RTC; no 8042 bit, so the guest skips i8042.
  put<std::uint16_t>(b, at(109), (1u << 2) | (1u << 5));
  // Flags: WBINVD, power/sleep buttons absent, HW_REDUCED_ACPI.
  put<std::uint32_t>(b, at(112), (1u << 0) | (1u << 4) | (1u << 5) | (1u << 20));
  b[at(131)] = 0;  // FADT minor version (6.0)
  put<std::uint64_t>(b, at(140), dsdt_addr);
  gas_io(b, at(244), layout::kSleepControlPort);
  gas_io(b, at(256), layout::kSleepStatusPort);
  std::memcpy(b.data() + at(268), "VOIDBOX\0", 8);  // hypervisor vendor identity
  return b;
}

Bytes madt_body(std::uint32_t vcpus) {
  Bytes b(8, 0);
  put<std::uint32_t>(b, 0, static_cast<std::uint32_t>(layout::kLapicAddr));
  put<std::uint32_t>(b, 4, 0);  // no dual 8259 (hardware-reduced)
  for (std::uint32_t i = 0; i < vcpus; ++i) {
    b.insert(b.end(),
             {0, 8, static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i), 1, 0, 0, 0});
  }
  Bytes ioapic(12, 0);
  ioapic[0] = 1;
  ioapic[1] = 12;
  ioapic[2] = 0;  // IOAPIC id
  put<std::uint32_t>(ioapic, 4, static_cast<std::uint32_t>(layout::kIoapicAddr));
  put<std::uint32_t>(ioapic, 8, 0);  // GSI base
  aml::append(b, ioapic);
  // LINT1 of every processor is NMI.
  b.insert(b.end(), {4, 6, 0xff, 0, 0, 1});
  return b;
}

void align16(Bytes& image) {
  image.resize((image.size() + 15) & ~std::size_t{15}, 0);
}

}  // namespace

std::vector<std::uint8_t> build_acpi_tables(const AcpiInputs& in, std::uint64_t base) {
  Bytes image(36, 0);  // RSDP first
  align16(image);
  const std::uint64_t dsdt_addr = base + image.size();
  aml::append(image, sdt("DSDT", 2, dsdt_body(in)));
  align16(image);
  const std::uint64_t fadt_addr = base + image.size();
  aml::append(image, sdt("FACP", 6, fadt_body(dsdt_addr)));
  align16(image);
  const std::uint64_t madt_addr = base + image.size();
  aml::append(image, sdt("APIC", 4, madt_body(in.vcpus)));
  align16(image);
  const std::uint64_t xsdt_addr = base + image.size();
  Bytes xsdt_entries(16, 0);
  put<std::uint64_t>(xsdt_entries, 0, fadt_addr);
  put<std::uint64_t>(xsdt_entries, 8, madt_addr);
  aml::append(image, sdt("XSDT", 1, xsdt_entries));

  std::memcpy(image.data(), "RSD PTR ", 8);
  std::memcpy(image.data() + 9, "VOIDBX", 6);
  image[15] = 2;  // ACPI 2.0+ RSDP
  put<std::uint32_t>(image, 20, 36);
  put<std::uint64_t>(image, 24, xsdt_addr);
  image[8] = checksum(image.data(), 20);
  image[32] = checksum(image.data(), 36);
  return image;
}

Result<std::uint64_t> write_acpi_tables(const GuestRam& ram, const AcpiInputs& in) {
  const auto image = build_acpi_tables(in, layout::kAcpiAddr);
  if (image.size() > layout::kAcpiMax) return fail("ACPI tables too large");
  if (auto r = ram.write(layout::kAcpiAddr, image.data(), image.size()); !r) {
    return std::unexpected(r.error());
  }
  return layout::kAcpiAddr;
}

}  // namespace voidbox::kvm
