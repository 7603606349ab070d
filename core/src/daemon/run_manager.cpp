#include "daemon/run_manager.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/atomic_file.hpp"
#include "daemon/cancellable_sandbox.hpp"
#include "voidbox/spec_parser.hpp"

namespace voidbox::daemon {
namespace json = boost::json;

namespace {

constexpr std::uintmax_t kMaxSpecBytes = 4u << 20;

bool valid_run_id(const std::string& id) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  return std::regex_match(id, pattern);
}

std::string policy_json(const RunPolicy& p) {
  return json::serialize(
      json::object{{"max_parallel_microvms_per_run", p.max_parallel_microvms_per_run},
                   {"max_stage_retries", p.max_stage_retries},
                   {"stage_timeout_secs", p.stage_timeout_secs},
                   {"cancel_grace_period_secs", p.cancel_grace_period_secs}});
}

ApiResult<std::string> read_spec_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return std::unexpected(
        ApiError{400, "INVALID_SPEC", "cannot read " + path + ": " + ec.message()});
  if (size > kMaxSpecBytes) {
    return std::unexpected(ApiError{413, "PAYLOAD_TOO_LARGE", path + " is larger than 4 MiB"});
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return std::unexpected(ApiError{400, "INVALID_SPEC", "cannot read " + path});
  return text.str();
}

}  // namespace

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StoreResult<std::unique_ptr<RunManager>> RunManager::start(ManagerOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  if (ec)
    return std::unexpected("cannot create " + options.state_dir.string() + ": " + ec.message());
  std::filesystem::permissions(options.state_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  auto store = RunStore::open(options.state_dir / "voidbox.db");
  if (!store) return std::unexpected(store.error());
  std::unique_ptr<RunManager> m(new RunManager(std::move(options), std::move(*store)));
  remove_stale_temporaries(m->artifact_root_);
  auto failed = m->store_->fail_interrupted_runs(now_ms());
  if (!failed) return std::unexpected("cannot recover interrupted runs: " + failed.error());
  m->recovered_ = std::move(*failed);
  if (!m->options_.plugins) {
    auto registry = std::make_shared<plugin::Registry>();
    registry->load_default();
    m->options_.plugins = std::move(registry);
  }
  for (std::size_t i = 0; i < std::max<std::size_t>(1, m->options_.workers); ++i) {
    m->workers_.emplace_back([raw = m.get()] { raw->work(); });
  }
  return m;
}

RunManager::RunManager(ManagerOptions options, std::unique_ptr<RunStore> store)
    : options_(std::move(options)),
      store_(std::move(store)),
      artifact_root_(options_.state_dir / "artifacts") {}

RunManager::~RunManager() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, active] : active_) {
      cancel_reasons_.try_emplace(id, "daemon_stopped");
      active.token->cancel();
    }
  }
  cv_.notify_all();
  workers_.clear();  // joins
  // Runs still queued never started: they end cancelled, not interrupted.
  for (const auto& id : queue_) {
    if (auto run = store_->get_run(id); run && *run)
      finish_cancelled_pending(**run, "daemon_stopped");
  }
}

ApiResult<RunRecord> RunManager::submit(const SubmitRequest& request) {
  const auto& p = request.policy;
  if (p.max_parallel_microvms_per_run < 1 || p.stage_timeout_secs <= 0 || p.max_stage_retries < 0 ||
      p.cancel_grace_period_secs < 0) {
    return std::unexpected(ApiError{400, "INVALID_POLICY",
                                    "policy needs max_parallel_microvms_per_run >= 1, "
                                    "stage_timeout_secs > 0, and no negative values"});
  }
  if (request.run_id && !valid_run_id(*request.run_id)) {
    return std::unexpected(invalid_params(
        "run_id must be 1-128 characters of letters, digits, '.', '_' or '-', starting with a "
        "letter or digit"));
  }
  if (request.run_id) {
    auto existing = store_->get_run(*request.run_id);
    if (!existing) return std::unexpected(internal_error(existing.error()));
    if (*existing) {
      if (is_terminal_status((*existing)->status)) {
        return std::unexpected(
            ApiError{409, "ALREADY_TERMINAL",
                     "run " + *request.run_id + " already finished as " + (*existing)->status});
      }
      return **existing;
    }
  }

  RunRecord run;
  if (request.spec_text) {
    run.spec_text = *request.spec_text;
    run.spec_format = request.spec_format.value_or("yaml");
    run.file = request.file.empty() ? "<inline>" : request.file;
  } else if (!request.file.empty()) {
    auto text = read_spec_file(request.file);
    if (!text) return std::unexpected(text.error());
    run.spec_text = std::move(*text);
    run.spec_format = spec::format_for_path(request.file) == spec::Format::yaml ? "yaml" : "json";
    run.file = request.file;
  } else {
    return std::unexpected(invalid_params("the body needs `file` (a spec path) or `spec`"));
  }
  auto parsed = spec::parse_spec(
      run.spec_text, run.spec_format == "json" ? spec::Format::json : spec::Format::yaml, run.file);
  if (!parsed) {
    std::string message;
    for (const auto& d : parsed.error()) {
      if (d.severity == spec::Severity::error) message += spec::format_diagnostic(d) + "\n";
    }
    if (!message.empty()) message.pop_back();
    return std::unexpected(ApiError{400, "INVALID_SPEC", message});
  }
  run.input = request.input;
  run.policy_json = policy_json(p);

  std::unique_lock lock(mu_);
  if (stopping_)
    return std::unexpected(ApiError{503, "INTERNAL_ERROR", "the daemon is stopping", true});
  if (active_.size() >= options_.workers + options_.max_queue) {
    return std::unexpected(ApiError{
        429, "TOO_MANY_REQUESTS",
        "the run queue is full (" + std::to_string(active_.size()) + " runs active); retry later",
        true});
  }
  const std::int64_t now = now_ms();
  if (request.run_id) {
    run.id = *request.run_id;
  } else {
    run.id = "run-" + std::to_string(now);
    if (active_.contains(run.id) || (store_->get_run(run.id) && *store_->get_run(run.id))) {
      run.id += "-" + std::to_string(++id_counter_);
    }
  }
  if (active_.contains(run.id)) {
    auto existing = store_->get_run(run.id);
    if (existing && *existing) return **existing;
  }
  run.created_at = now;
  run.updated_at = now;
  if (auto r = store_->insert_run(run); !r) {
    // Another submission with the same id won the race: answer as for it.
    auto existing = store_->get_run(run.id);
    if (existing && *existing) return **existing;
    return std::unexpected(internal_error(r.error()));
  }
  active_[run.id] = Active{std::make_shared<CancelToken>(), p, false};
  queue_.push_back(run.id);
  lock.unlock();
  cv_.notify_one();
  return run;
}

void RunManager::finish_cancelled_pending(RunRecord& run, const std::string& reason) {
  EventRecord e;
  e.ts_ms = now_ms();
  e.event_type = "run.cancelled";
  e.message = "run cancelled before it started: " + reason;
  auto seq = store_->append_event(run.id, e);
  run.status = "cancelled";
  run.terminal_reason = reason;
  run.finished_at = run.updated_at = e.ts_ms;
  if (seq) run.terminal_event_id = "evt-" + std::to_string(*seq);
  (void)store_->update_run(run);
  notify(run.id);
}

ApiResult<RunRecord> RunManager::cancel(const std::string& run_id, const std::string& reason) {
  auto run = store_->get_run(run_id);
  if (!run) return std::unexpected(internal_error(run.error()));
  if (!*run) return std::unexpected(not_found("no run " + run_id));
  std::unique_lock lock(mu_);
  auto it = active_.find(run_id);
  if (it == active_.end()) return **run;  // terminal: cancelling is idempotent
  if (!it->second.started) {
    std::erase(queue_, run_id);
    active_.erase(it);
    lock.unlock();
    finish_cancelled_pending(**run, reason);
    return **run;
  }
  cancel_reasons_.try_emplace(run_id, reason);
  auto token = it->second.token;
  lock.unlock();
  token->cancel();
  // The worker records the cancellation once the runtime returned.
  auto now = store_->get_run(run_id);
  if (now && *now) return **now;
  return **run;
}

void RunManager::work() {
  for (;;) {
    std::string id;
    std::shared_ptr<CancelToken> token;
    RunPolicy policy;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
      auto& active = active_.at(id);
      active.started = true;
      token = active.token;
      policy = active.policy;
    }
    execute(id, token, policy);
    {
      std::lock_guard lock(mu_);
      active_.erase(id);
      cancel_reasons_.erase(id);
    }
    notify(id);
  }
}

std::uint64_t RunManager::subscribe(const std::string& run_id, std::function<void()> notify_fn) {
  std::lock_guard lock(sub_mu_);
  std::uint64_t handle = next_sub_++;
  subs_[handle] = {run_id, std::move(notify_fn)};
  return handle;
}

void RunManager::unsubscribe(std::uint64_t handle) {
  std::lock_guard lock(sub_mu_);
  subs_.erase(handle);
}

void RunManager::notify(const std::string& run_id) {
  std::vector<std::function<void()>> calls;
  {
    std::lock_guard lock(sub_mu_);
    for (const auto& [handle, sub] : subs_) {
      if (sub.first == run_id) calls.push_back(sub.second);
    }
  }
  for (auto& call : calls) call();
}

}  // namespace voidbox::daemon
