// Puts vCPUs into the state the Linux 64-bit boot protocol expects: long
// mode, identity-mapped first 4 GiB, flat code/data segments, RSI = zero page.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

#include "guest_ram.hpp"
#include "result.hpp"

namespace voidbox::kvm {

// Writes the boot GDT and page tables into guest RAM (once per VM).
Result<void> write_boot_structures(const GuestRam& ram);

// What KVM_GET_SUPPORTED_CPUID returned.
struct CpuidTable {
  std::vector<kvm_cpuid_entry2> entries;
};

Result<CpuidTable> supported_cpuid(int kvm_fd);

// Per-vCPU: CPUID (APIC id and topology fixed up), MSRs, FPU, LAPIC LINT pins.
Result<void> configure_vcpu(int vcpu_fd, const CpuidTable& supported, std::uint32_t index,
                            std::uint32_t count);

// Boot vCPU only: registers and long-mode segment state.
Result<void> set_boot_registers(int vcpu_fd, std::uint64_t entry, std::uint64_t zero_page);

}  // namespace voidbox::kvm
