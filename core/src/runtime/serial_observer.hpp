// Forwards to a RunObserver one call at a time, whichever thread makes it,
// so an observer needs no locking of its own.
#pragma once

#include <mutex>

#include "voidbox/events.hpp"

namespace voidbox::runtime {

class SerialObserver final : public RunObserver {
 public:
  explicit SerialObserver(RunObserver& to) : to_(to) {}

  void on_run_started(const RunStarted& e) override { call(&RunObserver::on_run_started, e); }
  void on_warning(const std::string& e) override { call(&RunObserver::on_warning, e); }
  void on_stage_started(const std::string& e) override { call(&RunObserver::on_stage_started, e); }
  void on_sandbox_ready(const SandboxInfo& e) override { call(&RunObserver::on_sandbox_ready, e); }
  void on_step_started(const std::string& e) override { call(&RunObserver::on_step_started, e); }
  void on_output(const OutputChunk& e) override { call(&RunObserver::on_output, e); }
  void on_step_finished(const StepResult& e) override { call(&RunObserver::on_step_finished, e); }
  void on_agent_activity(const AgentActivity& e) override {
    call(&RunObserver::on_agent_activity, e);
  }
  void on_stage_finished(const StageResult& e) override {
    call(&RunObserver::on_stage_finished, e);
  }
  void on_run_finished(const RunResult& e) override { call(&RunObserver::on_run_finished, e); }

 private:
  template <class Event>
  void call(void (RunObserver::*event)(const Event&), const Event& e) {
    std::lock_guard lock(mu_);
    (to_.*event)(e);
  }

  RunObserver& to_;
  std::mutex mu_;
};

}  // namespace voidbox::runtime
