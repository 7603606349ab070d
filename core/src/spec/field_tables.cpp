#include "spec/field_tables.hpp"

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec {

std::span<const FieldTable> field_tables() {
  using namespace detail;
  static const FieldTable kTables[] = {
      {"", kRunSpecFields},
      {"Sandbox", kSandboxFields},
      {"NetworkPolicy", kNetworkFields},
      {"Mount", kMountFields},
      {"Llm", kLlmFields},
      {"Observe", kObserveFields},
      {"Agent", kAgentFields},
      {"Messaging", kMessagingFields},
      {"OciSkill", kOciSkillFields},
      {"Pipeline", kPipelineFields},
      {"Box", kBoxFields},
      {"BoxSandbox", kBoxSandboxFields},
      {"BoxOutput", kBoxOutputFields},
      {"BoxInput", kBoxInputFields},
      {"Stage", kStageFields},
      {"Workflow", kWorkflowFields},
      {"Step", kStepFields},
      {"StepRun", kStepRunFields},
  };
  return kTables;
}

}  // namespace voidbox::spec
