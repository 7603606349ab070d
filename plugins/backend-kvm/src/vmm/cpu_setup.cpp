#include "cpu_setup.hpp"

#include <sys/ioctl.h>

#include <array>
#include <bit>
#include <cstring>
#include <vector>

#include "layout.hpp"

namespace voidbox::kvm {
namespace {

// In C++, the uapi's __DECLARE_FLEX_ARRAY puts an empty struct before the
// flexible array, so g++ places kvm_cpuid2::entries and kvm_msrs::entries at
// offset 12/16 instead of 8 and sizes the ioctl numbers wrongly (KVM answers
// EINVAL). These buffers are therefore laid out by hand: an 8-byte header
// {u32 count, u32 pad} followed by the entries, with the kernel's numbers:
constexpr unsigned long kGetSupportedCpuid = 0xc008ae05;  // _IOWR(KVMIO, 0x05, kvm_cpuid2)
constexpr unsigned long kSetCpuid2 = 0x4008ae90;          // _IOW(KVMIO, 0x90, kvm_cpuid2)
constexpr unsigned long kSetMsrs = 0x4008ae89;            // _IOW(KVMIO, 0x89, kvm_msrs)

constexpr std::uint16_t kBootCs = 0x10;
constexpr std::uint16_t kBootDs = 0x18;
constexpr std::uint16_t kBootTss = 0x20;

constexpr std::uint64_t gdt_entry(std::uint64_t flags, std::uint64_t base, std::uint64_t limit) {
  return ((base & 0xff000000) << 32) | ((flags & 0xf0ff) << 40) | ((limit & 0xf0000) << 32) |
         ((base & 0x00ffffff) << 16) | (limit & 0xffff);
}

constexpr std::array<std::uint64_t, 5> kGdt = {
    0,
    0,
    gdt_entry(0xa09b, 0, 0xfffff),  // 0x10: 64-bit code
    gdt_entry(0xc093, 0, 0xfffff),  // 0x18: data
    gdt_entry(0x808b, 0, 0xfffff),  // 0x20: TSS (KVM wants a valid TR)
};

kvm_segment segment_from_gdt(std::uint16_t selector) {
  const std::uint64_t e = kGdt[selector / 8];
  kvm_segment s{};
  s.base = static_cast<std::uint64_t>(((e >> 16) & 0xffffff) | ((e >> 32) & 0xff000000));
  const std::uint32_t limit = static_cast<std::uint32_t>((e & 0xffff) | ((e >> 32) & 0xf0000));
  s.g = (e >> 55) & 1;
  s.limit = s.g ? (limit << 12) | 0xfff : limit;
  s.selector = selector;
  s.type = (e >> 40) & 0xf;
  s.present = (e >> 47) & 1;
  s.dpl = (e >> 45) & 3;
  s.db = (e >> 54) & 1;
  s.s = (e >> 44) & 1;
  s.l = (e >> 53) & 1;
  s.avl = (e >> 52) & 1;
  s.unusable = s.present ? 0 : 1;
  return s;
}

constexpr std::size_t kFlexHeader = 8;

// Header + entries, as the kernel lays out kvm_cpuid2 / kvm_msrs.
template <typename Entry>
std::vector<std::uint8_t> flex_buffer(const std::vector<Entry>& entries) {
  std::vector<std::uint8_t> buf(kFlexHeader + entries.size() * sizeof(Entry));
  const auto n = static_cast<std::uint32_t>(entries.size());
  std::memcpy(buf.data(), &n, 4);
  if (!entries.empty())
    std::memcpy(buf.data() + kFlexHeader, entries.data(), entries.size() * sizeof(Entry));
  return buf;
}

kvm_cpuid_entry2* find(std::vector<kvm_cpuid_entry2>& c, std::uint32_t fn, std::uint32_t index) {
  for (auto& e : c) {
    if (e.function == fn && (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == index)) {
      return &e;
    }
  }
  return nullptr;
}

void fix_topology(std::vector<kvm_cpuid_entry2>& c, std::uint32_t id, std::uint32_t count) {
  // One package, `count` cores, one thread each.
  const std::uint32_t core_bits = count > 1 ? std::bit_width(count - 1) : 0;
  for (auto& e : c) {
    switch (e.function) {
      case 1:
        e.ebx = (e.ebx & 0x0000ffff) | (id << 24) | (std::min(count, 255u) << 16);
        if (count > 1) e.edx |= 1u << 28;  // HTT: the count field is valid
        e.ecx |= 1u << 31;                 // running under a hypervisor
        break;
      case 4:  // deterministic cache parameters: cores per package
        e.eax = (e.eax & 0x03ffffff) | ((count - 1) << 26);
        e.eax &= ~(0xfffu << 14);  // caches are per core
        break;
      case 0xb:
      case 0x1f:
        e.edx = id;
        if (e.index == 0) {  // SMT level
          e.eax = 0;
          e.ebx = 1;
          e.ecx = (1u << 8) | e.index;
        } else if (e.index == 1) {  // core level
          e.eax = core_bits;
          e.ebx = count;
          e.ecx = (2u << 8) | e.index;
        } else {
          e.eax = e.ebx = 0;
          e.ecx = e.index;
        }
        break;
      case 0x80000008:
        e.ecx = (e.ecx & ~0xf0ffu) | (core_bits << 12) | (count - 1);
        break;
      case 0x8000001e:
        e.eax = id;
        e.ebx = (e.ebx & ~0xffffu) | id;  // core id, one thread per core
        e.ecx = 0;
        break;
      default:
        break;
    }
  }
}

void set_kvm_signature(std::vector<kvm_cpuid_entry2>& c) {
  kvm_cpuid_entry2* e = find(c, 0x40000000, 0);
  if (e == nullptr) return;  // KVM always reports it; nothing to fix otherwise
  const char sig[12] = {'K', 'V', 'M', 'K', 'V', 'M', 'K', 'V', 'M', 0, 0, 0};
  std::memcpy(&e->ebx, sig, 4);
  std::memcpy(&e->ecx, sig + 4, 4);
  std::memcpy(&e->edx, sig + 8, 4);
  if (e->eax < 0x40000001) e->eax = 0x40000001;
}

Result<void> set_msrs(int vcpu_fd) {
  struct Msr {
    std::uint32_t index;
    std::uint64_t value;
  };
  constexpr Msr kMsrs[] = {
      {0x174, 0},                // SYSENTER_CS
      {0x175, 0},                // SYSENTER_ESP
      {0x176, 0},                // SYSENTER_EIP
      {0xc0000081, 0},           // STAR
      {0xc0000082, 0},           // LSTAR
      {0xc0000083, 0},           // CSTAR
      {0xc0000084, 0},           // SYSCALL_MASK
      {0xc0000102, 0},           // KERNEL_GS_BASE
      {0x10, 0},                 // TSC
      {0x1a0, 1},                // MISC_ENABLE: fast strings
      {0x2ff, (1u << 11) | 6u},  // MTRRdefType: MTRRs on, default write-back
  };
  constexpr std::size_t n = std::size(kMsrs);
  std::vector<kvm_msr_entry> entries(n);
  for (std::size_t i = 0; i < n; ++i) {
    entries[i] = {};
    entries[i].index = kMsrs[i].index;
    entries[i].data = kMsrs[i].value;
  }
  auto buf = flex_buffer(entries);
  const int set = ::ioctl(vcpu_fd, kSetMsrs, buf.data());
  if (set < 0) return fail_errno("KVM_SET_MSRS failed");
  if (static_cast<std::size_t>(set) != n) {
    return fail("KVM_SET_MSRS rejected MSR " + std::to_string(kMsrs[set].index));
  }
  return {};
}

Result<void> set_lapic_lint(int vcpu_fd) {
  kvm_lapic_state lapic{};
  if (::ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0) return fail_errno("KVM_GET_LAPIC failed");
  const auto set_lvt = [&](std::size_t off, std::uint32_t mode) {
    std::uint32_t v;
    std::memcpy(&v, lapic.regs + off, 4);
    v = (v & ~0x700u) | (mode << 8);
    std::memcpy(lapic.regs + off, &v, 4);
  };
  set_lvt(0x350, 7);  // LINT0: ExtINT
  set_lvt(0x360, 4);  // LINT1: NMI
  if (::ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0) return fail_errno("KVM_SET_LAPIC failed");
  return {};
}

}  // namespace

Result<void> write_boot_structures(const GuestRam& ram) {
  if (auto r = ram.write(layout::kGdtAddr, kGdt.data(), sizeof kGdt); !r) return r;
  const std::uint64_t pml4 = layout::kPdptAddr | 0x3;
  if (auto r = ram.write(layout::kPml4Addr, &pml4, 8); !r) return r;
  std::array<std::uint64_t, 4> pdpt{};
  for (std::size_t i = 0; i < 4; ++i) pdpt[i] = (layout::kPdAddr + i * 0x1000) | 0x3;
  if (auto r = ram.write(layout::kPdptAddr, pdpt.data(), sizeof pdpt); !r) return r;
  std::array<std::uint64_t, 512> pd{};
  for (std::uint64_t g = 0; g < 4; ++g) {
    for (std::uint64_t j = 0; j < 512; ++j) pd[j] = ((g << 30) + (j << 21)) | 0x83;  // 2 MiB, RW, P
    if (auto r = ram.write(layout::kPdAddr + g * 0x1000, pd.data(), sizeof pd); !r) return r;
  }
  return {};
}

Result<CpuidTable> supported_cpuid(int kvm_fd) {
  // KVM caps the table at 256 entries (KVM_MAX_CPUID_ENTRIES) and rejects more.
  std::vector<kvm_cpuid_entry2> room(256);
  auto buf = flex_buffer(room);
  if (::ioctl(kvm_fd, kGetSupportedCpuid, buf.data()) < 0) {
    return fail_errno("KVM_GET_SUPPORTED_CPUID failed");
  }
  std::uint32_t n = 0;
  std::memcpy(&n, buf.data(), 4);
  if (n > room.size()) return fail("KVM_GET_SUPPORTED_CPUID returned too many entries");
  CpuidTable t;
  t.entries.resize(n);
  std::memcpy(t.entries.data(), buf.data() + kFlexHeader, n * sizeof(kvm_cpuid_entry2));
  return t;
}

Result<void> configure_vcpu(int vcpu_fd, const CpuidTable& supported, std::uint32_t index,
                            std::uint32_t count) {
  std::vector<kvm_cpuid_entry2> mine = supported.entries;
  fix_topology(mine, index, count);
  set_kvm_signature(mine);
  auto buf = flex_buffer(mine);
  if (::ioctl(vcpu_fd, kSetCpuid2, buf.data()) < 0) return fail_errno("KVM_SET_CPUID2 failed");
  if (auto r = set_msrs(vcpu_fd); !r) return r;
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;
  fpu.mxcsr = 0x1f80;
  if (::ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0) return fail_errno("KVM_SET_FPU failed");
  return set_lapic_lint(vcpu_fd);
}

Result<void> set_boot_registers(int vcpu_fd, std::uint64_t entry, std::uint64_t zero_page) {
  kvm_sregs sregs{};
  if (::ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return fail_errno("KVM_GET_SREGS failed");
  sregs.gdt.base = layout::kGdtAddr;
  sregs.gdt.limit = sizeof kGdt - 1;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;
  sregs.cs = segment_from_gdt(kBootCs);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = segment_from_gdt(kBootDs);
  sregs.tr = segment_from_gdt(kBootTss);
  sregs.cr0 = 0x80000011;  // PG | ET | PE
  sregs.cr3 = layout::kPml4Addr;
  sregs.cr4 = 0x20;    // PAE
  sregs.efer = 0x500;  // LME | LMA
  if (::ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0) return fail_errno("KVM_SET_SREGS failed");

  kvm_regs regs{};
  regs.rflags = 0x2;
  regs.rip = entry;
  regs.rsi = zero_page;
  regs.rsp = 0x8ff0;
  regs.rbp = 0x8ff0;
  if (::ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) return fail_errno("KVM_SET_REGS failed");
  return {};
}

}  // namespace voidbox::kvm
