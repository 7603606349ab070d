// SHA-256 digests in the OCI "sha256:<64 hex>" form.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "result.hpp"

namespace voidbox::oci {

// True for "sha256:" followed by exactly 64 lowercase hex digits. Digests
// become file names, so nothing else is accepted.
bool is_valid_digest(std::string_view digest);

// The hex part of a valid digest.
std::string_view digest_hex(std::string_view digest);

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::byte> data);
  void update(std::string_view data);
  // "sha256:<hex>"; the hasher cannot be updated afterwards.
  std::string finish();

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

std::string sha256_of(std::string_view data);

// Hashes a whole file; also returns its size.
Result<std::string> sha256_of_file(const std::string& path, std::uint64_t* size_out = nullptr);

}  // namespace voidbox::oci
