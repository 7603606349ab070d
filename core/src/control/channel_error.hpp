// Why a control-channel call failed: the embedding API's Error, whose
// connect..too_large kinds are the channel's.
#pragma once

#include "voidbox/error.hpp"

namespace voidbox::control {

using ChannelError = voidbox::Error;
using voidbox::to_string;

}  // namespace voidbox::control
