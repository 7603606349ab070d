// Accepts runs, queues them (bounded), and executes them on worker threads
// through the public Runtime, recording state, events, stages and
// artifacts in the RunStore. Followers subscribe to a run's new events.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/api_error.hpp"
#include "daemon/run_store.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::daemon {

class CancelToken;

struct ManagerOptions {
  std::filesystem::path state_dir;  // voidbox.db and artifacts/ live here
  std::string backend = "auto";
  std::optional<std::string> kernel;
  std::optional<std::string> initramfs;
  std::size_t workers = 4;     // runs executing at once
  std::size_t max_queue = 64;  // runs accepted but waiting for a worker
  // Null: the default plugin directories.
  std::shared_ptr<const plugin::Registry> plugins;
};

struct RunPolicy {
  std::int64_t max_parallel_microvms_per_run = 4;
  std::int64_t max_stage_retries = 3;
  std::int64_t stage_timeout_secs = 3600;
  std::int64_t cancel_grace_period_secs = 30;
};

struct SubmitRequest {
  std::string file;                        // a spec path on the daemon's host
  std::optional<std::string> spec_text;    // or the spec itself
  std::optional<std::string> spec_format;  // "yaml" or "json", with spec_text
  std::optional<std::string> input;
  std::optional<std::string> run_id;
  RunPolicy policy;
};

std::int64_t now_ms();

class RunManager {
 public:
  // Opens (or creates) the store, fails the runs a dead daemon left active,
  // and starts the workers.
  static StoreResult<std::unique_ptr<RunManager>> start(ManagerOptions options);
  ~RunManager();  // cancels active runs and joins the workers
  RunManager(const RunManager&) = delete;
  RunManager& operator=(const RunManager&) = delete;

  // The new run, or the existing active one with that id.
  ApiResult<RunRecord> submit(const SubmitRequest& request);
  ApiResult<RunRecord> cancel(const std::string& run_id, const std::string& reason);

  RunStore& store() { return *store_; }
  const std::filesystem::path& artifact_root() const { return artifact_root_; }
  std::vector<std::string> recovered_runs() const { return recovered_; }

  // `notify` runs (on a worker thread) after each new event of the run and
  // once it is terminal; keep it short. Returns a handle for unsubscribe().
  std::uint64_t subscribe(const std::string& run_id, std::function<void()> notify);
  void unsubscribe(std::uint64_t handle);
  void notify(const std::string& run_id);

 private:
  struct Active {
    std::shared_ptr<CancelToken> token;
    RunPolicy policy;
    bool started = false;
  };
  RunManager(ManagerOptions options, std::unique_ptr<RunStore> store);
  void work();
  void execute(const std::string& run_id, const std::shared_ptr<CancelToken>& token,
               const RunPolicy& policy);
  void finish_cancelled_pending(RunRecord& run, const std::string& reason);

  ManagerOptions options_;
  std::unique_ptr<RunStore> store_;
  std::filesystem::path artifact_root_;
  std::vector<std::string> recovered_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::map<std::string, Active> active_;
  std::map<std::string, std::string> cancel_reasons_;
  bool stopping_ = false;
  std::uint64_t id_counter_ = 0;
  std::vector<std::jthread> workers_;

  std::mutex sub_mu_;
  std::uint64_t next_sub_ = 1;
  std::map<std::uint64_t, std::pair<std::string, std::function<void()>>> subs_;
};

}  // namespace voidbox::daemon
