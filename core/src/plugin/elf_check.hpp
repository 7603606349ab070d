// Cheap checks on a candidate plugin file before dlopen ever sees it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace voidbox::plugin::detail {

// Why `file` cannot be a plugin for this process (not ELF, wrong class or
// machine, not a shared object, unreadable), or nullopt if it may be one.
std::optional<std::string> elf_rejection(const std::filesystem::path& file);

}  // namespace voidbox::plugin::detail
