// The RunObserver of a daemon run: every runtime event becomes a stored
// event of the original's types (run.started, stage.started, log.chunk,
// ...), and each workflow step's stage row follows its state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "daemon/run_store.hpp"
#include "voidbox/events.hpp"

namespace voidbox::daemon {

// A stage as planned from the spec: one per workflow step, or the run's
// single stage for other kinds.
struct PlannedStage {
  std::string name;
  std::vector<std::string> depends_on;
};

class RunRecorder final : public RunObserver {
 public:
  // Above this many bytes of output, a run's log.chunk events stop and one
  // log.truncated event says so; the step results keep their own bounded copy.
  static constexpr std::uint64_t kMaxLoggedBytes = 4u << 20;

  RunRecorder(RunStore& store, std::string run_id, std::string box_name,
              std::function<void()> notify);

  // Writes the queued stage rows and the workflow.planned event.
  void plan(const std::vector<PlannedStage>& stages);
  // Appends one event; returns its seq (0 when the store failed).
  std::int64_t emit(EventRecord event);
  // The first store error seen, if any.
  const std::string& store_error() const { return store_error_; }

  void on_run_started(const RunStarted& e) override;
  void on_warning(const std::string& text) override;
  void on_stage_started(const std::string& stage) override;
  void on_sandbox_ready(const SandboxInfo& info) override;
  void on_step_started(const std::string& step) override;
  void on_output(const OutputChunk& chunk) override;
  void on_step_finished(const StepResult& result) override;
  void on_stage_finished(const StageResult& result) override;
  // agent.activity events: what a box's agent does, as it streams.
  void on_agent_activity(const AgentActivity& activity) override;

  const std::string& backend() const { return backend_; }

 private:
  StageRecord& stage(const std::string& name);
  void save_stage(const StageRecord& s);

  RunStore& store_;
  std::string run_id_;
  std::string box_name_;
  std::function<void()> notify_;
  std::map<std::string, StageRecord> stages_;
  std::uint64_t logged_bytes_ = 0;
  bool truncated_ = false;
  std::string backend_;
  std::string store_error_;
};

// Text of a chunk for a JSON event: itself when it is valid UTF-8, else
// with every invalid byte replaced by U+FFFD.
std::string printable_utf8(std::string_view bytes);

}  // namespace voidbox::daemon
