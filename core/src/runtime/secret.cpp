#include "runtime/secret.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace voidbox::runtime {

std::expected<protocol::Secret, std::string> generate_secret() {
  protocol::Secret secret{};
  std::size_t filled = 0;
  while (filled < secret.size()) {
    ssize_t n = ::getrandom(secret.data() + filled, secret.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(std::string("getrandom: ") + std::strerror(errno));
    filled += static_cast<std::size_t>(n);
  }
  return secret;
}

}  // namespace voidbox::runtime
