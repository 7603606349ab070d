#include "kernel_loader.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "boot_params.hpp"
#include "layout.hpp"
#include "unique_fd.hpp"

namespace voidbox::kvm {
namespace {

constexpr std::uint64_t kMaxKernelBytes = 512ull << 20;

struct OpenFile {
  UniqueFd fd;
  std::uint64_t size = 0;
};

Result<OpenFile> open_file(const std::string& path, const char* what) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno(std::string("cannot open ") + what + " " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) {
    return fail(std::string(what) + " " + path + " is not a regular file");
  }
  return OpenFile{std::move(fd), static_cast<std::uint64_t>(st.st_size)};
}

// Reads [off, off+len) of the file straight into guest RAM at gpa.
Result<void> read_into_guest(const GuestRam& ram, int fd, std::uint64_t off, std::uint64_t gpa,
                             std::uint64_t len, const char* what) {
  auto dst = ram.memory().slice(gpa, len);
  if (!dst) return fail(std::string(what) + " does not fit in guest RAM at its load address");
  std::uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, dst->data() + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(std::string("read of ") + what + " failed");
    if (n == 0) return fail(std::string(what) + " is shorter than its headers say");
    done += static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<void> pread_exact(int fd, void* buf, std::size_t len, std::uint64_t off) {
  const ssize_t n = ::pread(fd, buf, len, static_cast<off_t>(off));
  if (n != static_cast<ssize_t>(len)) return fail("kernel image is truncated");
  return {};
}

void fill_e820(std::uint8_t* zp, const GuestRam& ram) {
  struct Entry {
    std::uint64_t addr, size;
    std::uint32_t type;
  };
  std::array<Entry, 4> entries{};
  std::size_t n = 0;
  entries[n++] = {0, layout::kEbdaStart, bootp::kE820Ram};
  entries[n++] = {layout::kEbdaStart, layout::kHighMemStart - layout::kEbdaStart,
                  bootp::kE820Reserved};
  // One e820 RAM entry per memslot, so the guest never uses RAM without a slot.
  for (const auto& r : ram.ranges()) {
    const std::uint64_t start = std::max(r.start, layout::kHighMemStart);
    if (r.start + r.size <= start) continue;
    entries[n++] = {start, r.start + r.size - start, bootp::kE820Ram};
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t off = bootp::kE820Table + i * 20;
    bootp::put<std::uint64_t>(zp, off, entries[i].addr);
    bootp::put<std::uint64_t>(zp, off + 8, entries[i].size);
    bootp::put<std::uint32_t>(zp, off + 16, entries[i].type);
  }
  zp[bootp::kE820Entries] = static_cast<std::uint8_t>(n);
}

struct Loaded {
  std::uint64_t entry = 0;
  std::uint64_t end = 0;  // first byte after the kernel's reserved area
  std::uint32_t initrd_addr_max = 0x7fffffff;
  std::uint16_t protocol = 0;
};

Result<Loaded> load_bzimage(const GuestRam& ram, int fd, std::uint64_t file_size,
                            std::uint8_t* zp) {
  std::array<std::uint8_t, 0x280> hdr{};
  if (file_size < hdr.size()) return fail("kernel image is too small to be a bzImage");
  if (auto r = pread_exact(fd, hdr.data(), hdr.size(), 0); !r) return std::unexpected(r.error());
  const std::uint16_t version = bootp::get<std::uint16_t>(hdr.data(), bootp::kVersion);
  if (version < bootp::kMinVersion) {
    return fail("bzImage boot protocol " + std::to_string(version >> 8) + "." +
                std::to_string(version & 0xff) + " is older than 2.12 (no 64-bit entry)");
  }
  if (!(bootp::get<std::uint16_t>(hdr.data(), bootp::kXLoadFlags) & bootp::kXlfKernel64)) {
    return fail("bzImage has no 64-bit entry point (XLF_KERNEL_64 not set)");
  }
  std::uint32_t setup_sects = hdr[bootp::kSetupSects];
  if (setup_sects == 0) setup_sects = 4;
  const std::uint64_t setup_bytes = (setup_sects + 1) * 512ull;
  if (setup_bytes >= file_size) return fail("bzImage setup code covers the whole file");
  const std::uint64_t payload = file_size - setup_bytes;

  std::uint64_t load = bootp::get<std::uint64_t>(hdr.data(), bootp::kPrefAddress);
  if (load < layout::kHighMemStart) load = layout::kDefaultKernelAddr;
  const std::uint32_t init_size = bootp::get<std::uint32_t>(hdr.data(), bootp::kInitSize);
  const std::uint64_t reserve = std::max<std::uint64_t>(payload, init_size);
  if (load + reserve > ram.low_end()) {
    return fail("guest RAM below 3 GiB is too small for this kernel (needs " +
                std::to_string((load + reserve) >> 20) + " MiB)");
  }
  if (auto r = read_into_guest(ram, fd, setup_bytes, load, payload, "kernel"); !r) {
    return std::unexpected(r.error());
  }
  // The setup header runs from 0x1f1 to 0x202 + the jump's byte offset.
  const std::size_t hdr_end = std::min<std::size_t>(0x202 + hdr[0x201], hdr.size());
  std::memcpy(zp + bootp::kSetupSects, hdr.data() + bootp::kSetupSects,
              hdr_end - bootp::kSetupSects);
  Loaded out;
  out.entry = load + 0x200;  // startup_64 sits 512 bytes into the protected-mode code
  out.end = load + reserve;
  out.initrd_addr_max = bootp::get<std::uint32_t>(hdr.data(), bootp::kInitrdAddrMax);
  out.protocol = version;
  const std::uint32_t cmdline_size = bootp::get<std::uint32_t>(hdr.data(), bootp::kCmdlineSize);
  if (cmdline_size == 0) bootp::put<std::uint32_t>(zp, bootp::kCmdlineSize, 255);
  return out;
}

Result<Loaded> load_elf(const GuestRam& ram, int fd, std::uint64_t file_size, std::uint8_t* zp) {
  Elf64_Ehdr eh{};
  if (auto r = pread_exact(fd, &eh, sizeof eh, 0); !r) return std::unexpected(r.error());
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64) {
    return fail("ELF kernel is not a 64-bit x86_64 vmlinux");
  }
  Loaded out;
  out.entry = eh.e_entry;
  bool entry_loaded = false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    if (auto r = pread_exact(fd, &ph, sizeof ph, eh.e_phoff + i * sizeof ph); !r) {
      return std::unexpected(r.error());
    }
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_filesz > ph.p_memsz || ph.p_offset > file_size ||
        ph.p_filesz > file_size - ph.p_offset) {
      return fail("ELF kernel has a segment outside the file");
    }
    if (ph.p_paddr < layout::kHighMemStart || !ram.memory().contains(ph.p_paddr, ph.p_memsz)) {
      return fail("ELF kernel segment does not fit in guest RAM");
    }
    if (auto r = read_into_guest(ram, fd, ph.p_offset, ph.p_paddr, ph.p_filesz, "kernel"); !r) {
      return std::unexpected(r.error());
    }
    out.end = std::max(out.end, ph.p_paddr + ph.p_memsz);
    if (eh.e_entry >= ph.p_paddr && eh.e_entry < ph.p_paddr + ph.p_memsz) entry_loaded = true;
  }
  if (!entry_loaded) return fail("ELF kernel entry point is not inside a loaded segment");
  // No setup header in a vmlinux: write the fields the kernel reads.
  bootp::put<std::uint16_t>(zp, bootp::kBootFlag, 0xaa55);
  bootp::put<std::uint32_t>(zp, bootp::kHeaderMagic, bootp::kMagicHdrS);
  bootp::put<std::uint16_t>(zp, bootp::kVersion, bootp::kMinVersion);
  bootp::put<std::uint32_t>(zp, bootp::kKernelAlignment, 0x1000000);
  bootp::put<std::uint32_t>(zp, bootp::kCmdlineSize, layout::kCmdlineMax - 1);
  return out;
}

}  // namespace

Result<BootEntry> load_kernel(const GuestRam& ram, const BootInputs& in) {
  auto kf = open_file(in.kernel_path, "kernel");
  if (!kf) return std::unexpected(kf.error());
  if (kf->size > kMaxKernelBytes)
    return fail("kernel " + in.kernel_path + " is larger than 512 MiB");
  std::array<std::uint8_t, bootp::kSize> zp{};
  unsigned char magic[4] = {};
  if (auto r = pread_exact(kf->fd.get(), magic, 4, 0); !r) return std::unexpected(r.error());
  const bool elf = std::memcmp(magic, ELFMAG, SELFMAG) == 0;
  auto loaded = elf ? load_elf(ram, kf->fd.get(), kf->size, zp.data())
                    : load_bzimage(ram, kf->fd.get(), kf->size, zp.data());
  if (!loaded) return std::unexpected(loaded.error());
  if (!elf && bootp::get<std::uint32_t>(zp.data(), bootp::kHeaderMagic) != bootp::kMagicHdrS) {
    return fail("kernel " + in.kernel_path + " is neither an ELF vmlinux nor a bzImage");
  }

  zp[bootp::kTypeOfLoader] = 0xff;
  zp[bootp::kLoadFlags] |= bootp::kLoadedHigh | bootp::kCanUseHeap;
  bootp::put<std::uint16_t>(zp.data(), bootp::kHeapEndPtr, 0xfe00);

  const std::uint32_t cmdline_max = std::min<std::uint32_t>(
      bootp::get<std::uint32_t>(zp.data(), bootp::kCmdlineSize), layout::kCmdlineMax - 1);
  if (in.cmdline.size() > cmdline_max) {
    return fail("kernel command line is " + std::to_string(in.cmdline.size()) +
                " bytes; this kernel takes at most " + std::to_string(cmdline_max));
  }
  if (auto r = ram.write(layout::kCmdlineAddr, in.cmdline.c_str(), in.cmdline.size() + 1); !r) {
    return std::unexpected(r.error());
  }
  bootp::put<std::uint32_t>(zp.data(), bootp::kCmdLinePtr, layout::kCmdlineAddr);

  if (!in.initramfs_path.empty()) {
    auto rf = open_file(in.initramfs_path, "initramfs");
    if (!rf) return std::unexpected(rf.error());
    const std::uint64_t limit =
        std::min<std::uint64_t>(ram.low_end(), std::uint64_t{loaded->initrd_addr_max} + 1);
    if (rf->size == 0 || rf->size > limit || limit - rf->size < loaded->end) {
      return fail("initramfs " + in.initramfs_path + " (" + std::to_string(rf->size >> 20) +
                  " MiB) does not fit in guest RAM between the kernel and " +
                  std::to_string(limit >> 20) + " MiB; raise memory_mb");
    }
    const std::uint64_t addr = (limit - rf->size) & ~std::uint64_t{0xfff};
    if (auto r = read_into_guest(ram, rf->fd.get(), 0, addr, rf->size, "initramfs"); !r) {
      return std::unexpected(r.error());
    }
    bootp::put<std::uint32_t>(zp.data(), bootp::kRamdiskImage, static_cast<std::uint32_t>(addr));
    bootp::put<std::uint32_t>(zp.data(), bootp::kRamdiskSize, static_cast<std::uint32_t>(rf->size));
    bootp::put<std::uint32_t>(zp.data(), bootp::kExtRamdiskImage,
                              static_cast<std::uint32_t>(addr >> 32));
    bootp::put<std::uint32_t>(zp.data(), bootp::kExtRamdiskSize,
                              static_cast<std::uint32_t>(rf->size >> 32));
  }
  if (in.acpi_rsdp_addr != 0)
    bootp::put<std::uint64_t>(zp.data(), bootp::kAcpiRsdpAddr, in.acpi_rsdp_addr);
  fill_e820(zp.data(), ram);
  if (auto r = ram.write(layout::kZeroPageAddr, zp.data(), zp.size()); !r) {
    return std::unexpected(r.error());
  }
  return BootEntry{loaded->entry, layout::kZeroPageAddr, elf, loaded->protocol};
}

}  // namespace voidbox::kvm
