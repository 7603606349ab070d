#include "modules.hpp"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace va = voidbox::agent;

namespace {

// A minimal ELF64 relocatable file with a .modinfo section.
std::string fake_module(const std::string& modinfo) {
  const std::string shstrtab = std::string("\0.shstrtab\0.modinfo\0", 20);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_REL;
  eh.e_machine = EM_X86_64;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = 3;
  eh.e_shstrndx = 1;
  const std::size_t strtab_off = sizeof(Elf64_Ehdr);
  const std::size_t modinfo_off = strtab_off + shstrtab.size();
  eh.e_shoff = modinfo_off + modinfo.size();
  Elf64_Shdr sh[3]{};
  sh[1].sh_name = 1;
  sh[1].sh_type = SHT_STRTAB;
  sh[1].sh_offset = strtab_off;
  sh[1].sh_size = shstrtab.size();
  sh[2].sh_name = 11;
  sh[2].sh_type = SHT_PROGBITS;
  sh[2].sh_offset = modinfo_off;
  sh[2].sh_size = modinfo.size();
  std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
  out += shstrtab;
  out += modinfo;
  out.append(reinterpret_cast<const char*>(sh), sizeof sh);
  return out;
}

std::string info(const std::string& name, const std::string& deps) {
  return std::string("license=GPL\0name=", 17) + name + std::string("\0depends=", 9) + deps +
         std::string("\0vermagic=6.1\0", 14);
}

TEST(Modules, ParsesModinfo) {
  auto m = va::parse_modinfo(
      fake_module(info("vmw_vsock_virtio_transport", "vmw_vsock_virtio_transport_common,vsock")));
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->name, "vmw_vsock_virtio_transport");
  EXPECT_EQ(m->depends, (std::vector<std::string>{"vmw_vsock_virtio_transport_common", "vsock"}));
  auto none = va::parse_modinfo(fake_module(info("virtio", "")));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->depends.empty());
}

TEST(Modules, RejectsGarbageAndTruncation) {
  EXPECT_FALSE(va::parse_modinfo("not an elf"));
  std::string m = fake_module(info("a", ""));
  EXPECT_FALSE(va::parse_modinfo(std::string_view(m).substr(0, m.size() - 10)));
  // Section offset pointing past the end.
  Elf64_Ehdr eh;
  std::memcpy(&eh, m.data(), sizeof eh);
  eh.e_shoff = 1ull << 40;
  std::memcpy(m.data(), &eh, sizeof eh);
  EXPECT_FALSE(va::parse_modinfo(m));
}

TEST(Modules, OrdersByDependencies) {
  std::vector<va::ModuleInfo> mods = {
      {"vmw_vsock_virtio_transport", {"vmw_vsock_virtio_transport_common", "vsock", "virtio"}, ""},
      {"vmw_vsock_virtio_transport_common", {"vsock"}, ""},
      {"vsock", {}, ""},
      {"9p", {"9pnet", "netfs"}, ""},
      {"9pnet", {}, ""},
  };
  auto order = va::order_modules(mods);
  ASSERT_TRUE(order) << order.error();
  auto pos = [&](const std::string& n) {
    for (std::size_t i = 0; i < order->size(); ++i)
      if ((*order)[i].name == n) return i;
    return std::size_t(999);
  };
  EXPECT_EQ(order->size(), 5u);
  EXPECT_LT(pos("vsock"), pos("vmw_vsock_virtio_transport_common"));
  EXPECT_LT(pos("vmw_vsock_virtio_transport_common"), pos("vmw_vsock_virtio_transport"));
  EXPECT_LT(pos("9pnet"), pos("9p"));
}

TEST(Modules, DetectsCycles) {
  std::vector<va::ModuleInfo> mods = {{"a", {"b"}, ""}, {"b", {"a"}, ""}};
  EXPECT_FALSE(va::order_modules(mods));
}

TEST(Modules, ParamsFromCmdline) {
  const std::string cmd =
      "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio-mmio.device=4K@0xd0001000:6 "
      "vsock.x=1 virtio_mmiox.y=2";
  EXPECT_EQ(va::module_params_from_cmdline(cmd, "virtio_mmio"),
            "device=4K@0xd0000000:5 device=4K@0xd0001000:6");
  EXPECT_EQ(va::module_params_from_cmdline(cmd, "vsock"), "x=1");
  EXPECT_EQ(va::module_params_from_cmdline(cmd, "9p"), "");
  EXPECT_EQ(va::module_name_from_path("/lib/modules/x/kernel/net/9p/9pnet-virtio.ko"),
            "9pnet_virtio");
}

// If a kernel was fetched, every module in its tree must parse.
TEST(Modules, ParsesRealModulesWhenAvailable) {
  const char* home = std::getenv("HOME");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  std::filesystem::path kernels =
      std::filesystem::path(xdg ? xdg : (home ? std::string(home) + "/.cache" : "/nonexistent")) /
      "voidbox/kernels";
  std::error_code ec;
  std::size_t parsed = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(kernels, ec);
       !ec && it != std::filesystem::recursive_directory_iterator() && parsed < 50;
       it.increment(ec)) {
    if (it->path().extension() != ".ko") continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(it->path())), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    auto m = va::parse_modinfo(bytes);
    ASSERT_TRUE(m) << it->path() << ": " << m.error();
    EXPECT_FALSE(m->name.empty());
    ++parsed;
  }
  if (parsed == 0) GTEST_SKIP() << "no fetched kernel under " << kernels;
}

}  // namespace
