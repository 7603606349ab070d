// Loads a Linux kernel (bzImage through the 64-bit boot protocol, or an ELF
// vmlinux) and an initramfs into guest RAM and fills the zero page.
#pragma once

#include <cstdint>
#include <string>

#include "guest_ram.hpp"
#include "result.hpp"

namespace voidbox::kvm {

struct BootInputs {
  std::string kernel_path;
  std::string initramfs_path;  // empty: none
  std::string cmdline;
  std::uint64_t acpi_rsdp_addr = 0;  // 0: let the kernel scan for it
};

struct BootEntry {
  std::uint64_t entry = 0;      // 64-bit entry point (RIP)
  std::uint64_t zero_page = 0;  // RSI
  bool elf = false;
  std::uint16_t protocol = 0;  // bzImage boot protocol version
};

Result<BootEntry> load_kernel(const GuestRam& ram, const BootInputs& in);

}  // namespace voidbox::kvm
