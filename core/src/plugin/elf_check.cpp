#include "plugin/elf_check.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>

namespace voidbox::plugin::detail {
namespace {

constexpr unsigned char kHostClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;

#if defined(__x86_64__)
constexpr unsigned kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kHostMachine = EM_AARCH64;
#else
constexpr unsigned kHostMachine = EM_NONE;  // unknown: let dlopen decide
#endif

}  // namespace

std::optional<std::string> elf_rejection(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "cannot open file";
  // e_type and e_machine sit at the same offsets for both classes.
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got < EI_NIDENT || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return "not an ELF file";
  }
  if (got < offsetof(Elf64_Ehdr, e_machine) + sizeof header.e_machine) {
    return "truncated ELF header";
  }
  if (header.e_ident[EI_CLASS] != kHostClass) {
    return "ELF class does not match this host (32/64-bit)";
  }
  if (header.e_type != ET_DYN) return "not an ELF shared object";
  if (kHostMachine != EM_NONE && header.e_machine != kHostMachine) {
    return "built for another CPU architecture (ELF machine " + std::to_string(header.e_machine) +
           ")";
  }
  return std::nullopt;
}

}  // namespace voidbox::plugin::detail
