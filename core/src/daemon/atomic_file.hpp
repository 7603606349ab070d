// Files that are either absent or complete: written to a hidden temporary
// beside the target, fsynced, renamed over it, and the directory fsynced.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

namespace voidbox::daemon {

std::expected<void, std::string> write_file_atomically(const std::filesystem::path& path,
                                                       std::string_view bytes,
                                                       unsigned mode = 0600);

// Temporaries a killed writer left under `root`; removed at startup.
// Returns how many were removed.
std::size_t remove_stale_temporaries(const std::filesystem::path& root);

// The prefix every temporary's file name starts with.
inline constexpr std::string_view kTemporaryPrefix = ".tmp-";

// FNV-1a 64 of `bytes` as 16 hex digits: the manifest's checksum, which
// shows a file is the one that was published.
std::string fnv1a_hex(std::string_view bytes);

}  // namespace voidbox::daemon
