#include "voidbox/version.hpp"

namespace voidbox {

std::string_view version() noexcept {
  return VOIDBOX_VERSION;
}

}  // namespace voidbox
