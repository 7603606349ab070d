// Everything a C++ plugin usually needs.
#pragma once

#include "voidbox/sdk/backend.hpp"
#include "voidbox/sdk/error.hpp"
#include "voidbox/sdk/exporter.hpp"
#include "voidbox/sdk/guard.hpp"
#include "voidbox/sdk/plugin.hpp"
#include "voidbox/sdk/transport.hpp"
#include "voidbox/sdk/unique_fd.hpp"
