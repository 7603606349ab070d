#pragma once

#include <string_view>

namespace voidbox {

// The runtime's version, e.g. "0.1.0".
std::string_view version() noexcept;

}  // namespace voidbox
