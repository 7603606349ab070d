// Offsets into Linux's struct boot_params (the "zero page") and its setup
// header, from Documentation/arch/x86/boot.rst and zero-page.rst. Kept as
// offsets rather than a packed struct so reads of a hostile image stay
// explicit bounds-checked byte copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace voidbox::kvm::bootp {

inline constexpr std::size_t kSize = 4096;
inline constexpr std::size_t kAcpiRsdpAddr = 0x070;     // u64, protocol 2.14+
inline constexpr std::size_t kExtRamdiskImage = 0x0c0;  // u32
inline constexpr std::size_t kExtRamdiskSize = 0x0c4;   // u32
inline constexpr std::size_t kExtCmdLinePtr = 0x0c8;    // u32
inline constexpr std::size_t kE820Entries = 0x1e8;      // u8
inline constexpr std::size_t kSetupSects = 0x1f1;       // u8; the setup header starts here
inline constexpr std::size_t kBootFlag = 0x1fe;         // u16 0xAA55
inline constexpr std::size_t kJump = 0x200;             // u16; byte 0x201 = header length - 2
inline constexpr std::size_t kHeaderMagic = 0x202;      // u32 "HdrS"
inline constexpr std::size_t kVersion = 0x206;          // u16
inline constexpr std::size_t kTypeOfLoader = 0x210;     // u8
inline constexpr std::size_t kLoadFlags = 0x211;        // u8
inline constexpr std::size_t kRamdiskImage = 0x218;     // u32
inline constexpr std::size_t kRamdiskSize = 0x21c;      // u32
inline constexpr std::size_t kHeapEndPtr = 0x224;       // u16
inline constexpr std::size_t kCmdLinePtr = 0x228;       // u32
inline constexpr std::size_t kInitrdAddrMax = 0x22c;    // u32
inline constexpr std::size_t kKernelAlignment = 0x230;  // u32
inline constexpr std::size_t kRelocatable = 0x234;      // u8
inline constexpr std::size_t kXLoadFlags = 0x236;       // u16
inline constexpr std::size_t kCmdlineSize = 0x238;      // u32
inline constexpr std::size_t kPrefAddress = 0x258;      // u64
inline constexpr std::size_t kInitSize = 0x260;         // u32
inline constexpr std::size_t kE820Table = 0x2d0;        // 128 x {u64 addr, u64 size, u32 type}
inline constexpr std::size_t kE820Max = 128;

inline constexpr std::uint32_t kMagicHdrS = 0x53726448;  // "HdrS"
inline constexpr std::uint16_t kMinVersion = 0x020c;     // 2.12: xloadflags, 64-bit entry
inline constexpr std::uint8_t kLoadedHigh = 0x01;
inline constexpr std::uint8_t kCanUseHeap = 0x80;
inline constexpr std::uint16_t kXlfKernel64 = 0x0001;
inline constexpr std::uint32_t kE820Ram = 1;
inline constexpr std::uint32_t kE820Reserved = 2;

template <typename T>
T get(const std::uint8_t* page, std::size_t off) {
  T v;
  std::memcpy(&v, page + off, sizeof(T));
  return v;
}

template <typename T>
void put(std::uint8_t* page, std::size_t off, T v) {
  std::memcpy(page + off, &v, sizeof(T));
}

}  // namespace voidbox::kvm::bootp
