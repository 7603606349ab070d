// PID 1 duties in a VM: mount the basic filesystems, give stdio to
// /dev/null, create the sandbox user's directories, set the clock from the
// command line, and power off at the end.
#pragma once

#include <string>
#include <string_view>

namespace voidbox::agent {

inline constexpr unsigned kSandboxUid = 1000;
inline constexpr unsigned kSandboxGid = 1000;

// Mounts proc, sysfs, devtmpfs, devpts (newinstance) + /dev/ptmx, /dev/shm and
// a 1777 tmpfs on /tmp; creates /workspace and /home/sandbox owned 1000:1000.
void init_system();

// Sets CLOCK_REALTIME from `voidbox.clock=<epoch seconds>` if present.
void set_clock_from_cmdline(std::string_view cmdline);

std::string read_text_file(const char* path, std::size_t max_bytes = 64u << 10);

// sync() then reboot(RB_POWER_OFF); never returns.
[[noreturn]] void power_off();

}  // namespace voidbox::agent
