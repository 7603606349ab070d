#include "voidbox/events.hpp"

namespace voidbox {

const char* to_string(StepStatus status) {
  switch (status) {
    case StepStatus::succeeded:
      return "succeeded";
    case StepStatus::failed:
      return "failed";
    case StepStatus::timed_out:
      return "timed_out";
    case StepStatus::skipped:
      return "skipped";
  }
  return "unknown";
}

}  // namespace voidbox
