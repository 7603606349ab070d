// How a VM ended, as the VMM reports it (exit status and exit.json).
#pragma once

#include <string>

namespace voidbox::kvm {

enum class VmEnd {
  kPowerOff,       // ACPI S5 or the guest halted for good
  kReboot,         // i8042 reset, triple fault without a panic, reset system event
  kPanic,          // pvpanic, or the console printed a kernel panic
  kInternalError,  // KVM or VMM failure
  kStopped,        // the host asked (SIGTERM)
};

struct VmOutcome {
  VmEnd end = VmEnd::kInternalError;
  std::string detail;
};

inline const char* to_string(VmEnd e) {
  switch (e) {
    case VmEnd::kPowerOff:
      return "poweroff";
    case VmEnd::kReboot:
      return "reboot";
    case VmEnd::kPanic:
      return "panic";
    case VmEnd::kInternalError:
      return "internal-error";
    case VmEnd::kStopped:
      return "stopped";
  }
  return "internal-error";
}

// voidbox-vmm's exit status for each ending; the backend plugin maps it back.
inline int exit_status_for(VmEnd e) {
  switch (e) {
    case VmEnd::kPowerOff:
      return 0;
    case VmEnd::kReboot:
      return 10;
    case VmEnd::kPanic:
      return 11;
    case VmEnd::kStopped:
      return 12;
    case VmEnd::kInternalError:
      return 13;
  }
  return 13;
}

inline constexpr int kExitStatusConfigError = 2;

}  // namespace voidbox::kvm
