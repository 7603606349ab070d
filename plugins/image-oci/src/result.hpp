// Errors inside the OCI plugin: the SDK's error values, converted to
// vb_status + message at the C boundary.
#pragma once

#include "voidbox/sdk/error.hpp"

namespace voidbox::oci {

using voidbox::sdk::Error;
using voidbox::sdk::fail;
using voidbox::sdk::Result;

}  // namespace voidbox::oci
