// Guest physical address map of an x86_64 VM.
//
//   0x0000_0500  GDT (boot code and data segments)
//   0x0000_7000  boot_params ("zero page")
//   0x0000_9000  PML4, then PDPT, then four page directories (identity map
//                of the first 4 GiB with 2 MiB pages)
//   0x0002_0000  kernel command line
//   0x0009_fc00  - 0x0010_0000 reserved (EBDA, legacy ROM area); the ACPI
//                tables live at 0x000e_0000 where the kernel's RSDP scan looks
//   0x0010_0000  RAM continues: kernel (at its preferred address), initramfs
//                (as high as the kernel allows below the hole)
//   0xc000_0000  32-bit hole: virtio-mmio windows at 0xd000_0000, IOAPIC at
//                0xfec0_0000, LAPIC at 0xfee0_0000
//   0x1_0000_0000 RAM above 4 GiB, if memory_mb exceeds the low part
#pragma once

#include <cstdint>

namespace voidbox::kvm::layout {

inline constexpr std::uint64_t kGdtAddr = 0x500;
inline constexpr std::uint64_t kZeroPageAddr = 0x7000;
inline constexpr std::uint64_t kPml4Addr = 0x9000;
inline constexpr std::uint64_t kPdptAddr = 0xa000;
inline constexpr std::uint64_t kPdAddr = 0xb000;  // four pages: 0xb000..0xefff
inline constexpr std::uint64_t kCmdlineAddr = 0x20000;
inline constexpr std::uint64_t kCmdlineMax = 4096;
inline constexpr std::uint64_t kEbdaStart = 0x9fc00;
inline constexpr std::uint64_t kAcpiAddr = 0xe0000;
inline constexpr std::uint64_t kAcpiMax = 0x20000;  // up to 1 MiB
inline constexpr std::uint64_t kHighMemStart = 0x100000;
inline constexpr std::uint64_t kDefaultKernelAddr = 0x1000000;

inline constexpr std::uint64_t kLowRamEnd = 0xc0000000;  // start of the 32-bit hole
inline constexpr std::uint64_t kHighRamStart = 0x100000000;

inline constexpr std::uint64_t kVirtioMmioBase = 0xd0000000;
inline constexpr std::uint64_t kVirtioMmioStride = 0x1000;
inline constexpr std::uint64_t kVirtioMmioSize = 0x200;
inline constexpr std::uint32_t kVirtioFirstGsi = 16;  // IOAPIC pins 16..23: no legacy ISA meaning
inline constexpr std::uint32_t kMaxVirtioDevices = 8;

inline constexpr std::uint64_t kIoapicAddr = 0xfec00000;
inline constexpr std::uint64_t kLapicAddr = 0xfee00000;

// I/O ports.
inline constexpr std::uint16_t kSerialPort = 0x3f8;
inline constexpr std::uint32_t kSerialIrq = 4;
inline constexpr std::uint16_t kI8042CommandPort = 0x64;
inline constexpr std::uint16_t kBootReadyPort = 0x3f0;     // guest writes: "init reached"
inline constexpr std::uint16_t kPvpanicPort = 0x505;       // QEMU's pvpanic ("QEMU0001")
inline constexpr std::uint16_t kSleepControlPort = 0x600;  // ACPI hardware-reduced sleep
inline constexpr std::uint16_t kSleepStatusPort = 0x601;

inline constexpr std::uint32_t kMaxVcpus = 64;

}  // namespace voidbox::kvm::layout
