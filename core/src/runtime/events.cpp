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

const char* to_string(AgentActivity::Type type) {
  switch (type) {
    case AgentActivity::Type::init:
      return "init";
    case AgentActivity::Type::text:
      return "text";
    case AgentActivity::Type::tool_use:
      return "tool_use";
    case AgentActivity::Type::tool_result:
      return "tool_result";
    case AgentActivity::Type::result:
      return "result";
    case AgentActivity::Type::error:
      return "error";
  }
  return "unknown";
}

}  // namespace voidbox
