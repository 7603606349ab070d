// ACPI tables for a hardware-reduced x86 machine: RSDP, XSDT, FADT, MADT and
// a DSDT describing the virtio-mmio devices, the COM1 UART and pvpanic.
//
// Why ACPI rather than virtio-pci: a stock distribution kernel (Debian's)
// builds virtio_mmio as a module without command-line device support, so it
// can only find virtio-mmio devices through firmware tables; ACPI is also
// what gives the guest its CPU count (MADT). Describing devices as LNRO0005
// in the DSDT needs no PCI config space, BARs or MSI-X emulation in the VMM,
// which is the attack surface Firecracker and QEMU's microvm also avoid.
#pragma once

#include <cstdint>
#include <vector>

#include "guest_ram.hpp"
#include "result.hpp"

namespace voidbox::kvm {

struct MmioDeviceInfo {
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  std::uint32_t gsi = 0;
};

struct AcpiInputs {
  std::uint32_t vcpus = 1;
  std::vector<MmioDeviceInfo> virtio_mmio;
};

// Builds the tables into one byte image placed at `base` (guest physical).
// Returns the image; the RSDP is at offset 0.
std::vector<std::uint8_t> build_acpi_tables(const AcpiInputs& in, std::uint64_t base);

// Builds and writes the tables at layout::kAcpiAddr; returns the RSDP address.
Result<std::uint64_t> write_acpi_tables(const GuestRam& ram, const AcpiInputs& in);

// The SLP_TYP value \_S5 declares; a write of (kSleepTypeS5 << 2) | SLP_EN
// to the sleep control register is a power-off request.
inline constexpr std::uint8_t kSleepTypeS5 = 5;

}  // namespace voidbox::kvm
