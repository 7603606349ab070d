// Builds tar layers in memory for tests, including ones no sane tool makes.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <string>
#include <vector>

#include "digest.hpp"

namespace voidbox::oci::testing {

class TarBuilder {
 public:
  enum class Filter { none, gzip, zstd };

  TarBuilder& file(const std::string& name, const std::string& content, unsigned mode = 0644) {
    entries_.push_back({name, AE_IFREG, content, "", mode});
    return *this;
  }
  TarBuilder& dir(const std::string& name, unsigned mode = 0755) {
    entries_.push_back({name, AE_IFDIR, "", "", mode});
    return *this;
  }
  TarBuilder& symlink(const std::string& name, const std::string& target) {
    entries_.push_back({name, AE_IFLNK, "", target, 0777});
    return *this;
  }
  TarBuilder& hardlink(const std::string& name, const std::string& target) {
    entries_.push_back({name, 0, "", target, 0644});
    return *this;
  }
  TarBuilder& chardev(const std::string& name) {
    entries_.push_back({name, AE_IFCHR, "", "", 0666});
    return *this;
  }

  std::string build(Filter filter = Filter::none) const {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (filter == Filter::gzip) archive_write_add_filter_gzip(a);
    if (filter == Filter::zstd) archive_write_add_filter_zstd(a);
    size_t capacity = 1 << 20;
    for (const auto& e : entries_) capacity += e.content.size() + e.content.size() / 50 + 2048;
    std::string out;
    out.resize(capacity);
    size_t used = 0;
    archive_write_open_memory(a, out.data(), out.size(), &used);
    for (const auto& e : entries_) {
      archive_entry* entry = archive_entry_new();
      archive_entry_set_pathname(entry, e.name.c_str());
      archive_entry_set_mtime(entry, 1700000000, 0);
      archive_entry_set_perm(entry, e.mode);
      if (e.type == 0) {
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.target.c_str());
        archive_entry_set_size(entry, 0);
      } else {
        archive_entry_set_filetype(entry, e.type);
        if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.target.c_str());
        if (e.type == AE_IFREG)
          archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
        if (e.type == AE_IFCHR) archive_entry_set_rdev(entry, 0x0103);
      }
      archive_write_header(a, entry);
      if (!e.content.empty()) archive_write_data(a, e.content.data(), e.content.size());
      archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    out.resize(used);
    return out;
  }

 private:
  struct Entry {
    std::string name;
    unsigned type;
    std::string content;
    std::string target;
    unsigned mode;
  };
  std::vector<Entry> entries_;
};

// Writes a blob to `path` and returns its digest.
inline std::string write_blob(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
  return sha256_of(data);
}

}  // namespace voidbox::oci::testing
