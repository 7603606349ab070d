// The daemon's persistent state in one SQLite database (WAL, busy timeout,
// versioned schema): runs, their stage states, events, artifact manifests,
// and session chat history. Safe to call from any thread; calls are
// serialised on one connection.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/sqlite_db.hpp"

namespace voidbox::daemon {

template <class T>
using StoreResult = std::expected<T, std::string>;

// Timestamps are milliseconds since the Unix epoch; 0 means "not yet".
struct RunRecord {
  std::string id;
  std::int64_t attempt_id = 1;
  std::string status = "pending";  // pending starting running succeeded failed cancelled
  std::string file;
  std::string spec_text;    // the spec as submitted, so a run is self-contained
  std::string spec_format;  // yaml or json
  std::optional<std::string> input;
  std::string policy_json = "{}";
  std::int64_t created_at = 0;
  std::int64_t started_at = 0;
  std::int64_t updated_at = 0;
  std::int64_t finished_at = 0;
  std::string terminal_reason;
  std::optional<std::int64_t> exit_code;
  std::string error;
  std::string report_json;  // empty until the run finished
  bool output_ready = false;
  std::string terminal_event_id;
  std::string artifact_status = "not_started";  // publishing published failed
  std::int64_t published_at = 0;
  std::string backend;
};

bool is_terminal_status(const std::string& status);

struct EventRecord {
  std::int64_t seq = 0;  // assigned by the store, 1-based per run
  std::int64_t ts_ms = 0;
  std::string level = "info";
  std::string event_type;
  std::string message;
  std::string box_name;
  std::string stage_name;
  std::string stream;
  std::string payload_json = "{}";
};

struct StageRecord {
  std::string stage_name;
  std::string box_name;
  std::string group_id;
  std::string depends_on_json = "[]";
  std::string status = "queued";  // queued running succeeded failed skipped
  std::int64_t stage_attempt = 1;
  std::int64_t started_at = 0;
  std::int64_t completed_at = 0;
  std::int64_t duration_ms = 0;
  std::optional<std::int64_t> exit_code;
};

struct ArtifactRecord {
  std::string stage_name;
  std::string name;
  std::string media_type;
  std::uint64_t size_bytes = 0;
  std::string checksum;  // fnv1a-64 hex of the file's bytes
  std::string path;      // relative to the artifact root
};

struct SessionMessage {
  std::int64_t seq = 0;
  std::string role;
  std::string content;
  std::int64_t ts_ms = 0;
};

enum class RunFilter { all, active, terminal };

class RunStore {
 public:
  // Creates or migrates the database at `path`.
  static StoreResult<std::unique_ptr<RunStore>> open(const std::filesystem::path& path);

  // The schema version a freshly opened store has.
  static int latest_schema_version();

  StoreResult<void> insert_run(const RunRecord& run);
  StoreResult<std::optional<RunRecord>> get_run(const std::string& id);
  StoreResult<std::vector<RunRecord>> list_runs(RunFilter filter);
  StoreResult<void> update_run(const RunRecord& run);
  StoreResult<std::int64_t> count_runs(RunFilter filter);

  // Returns the event's seq.
  StoreResult<std::int64_t> append_event(const std::string& run_id, const EventRecord& event);
  StoreResult<std::vector<EventRecord>> events_after(const std::string& run_id,
                                                     std::int64_t after_seq,
                                                     std::int64_t limit = -1);
  StoreResult<std::int64_t> last_event_seq(const std::string& run_id);

  StoreResult<void> upsert_stage(const std::string& run_id, const StageRecord& stage);
  StoreResult<std::vector<StageRecord>> stages(const std::string& run_id);

  StoreResult<void> add_artifact(const std::string& run_id, const ArtifactRecord& artifact);
  StoreResult<std::vector<ArtifactRecord>> artifacts(const std::string& run_id);

  StoreResult<std::int64_t> append_session_message(const std::string& session_id,
                                                   const SessionMessage& message);
  StoreResult<std::vector<SessionMessage>> session_messages(const std::string& session_id);

  // Runs left pending or running by a daemon that died become failed with
  // terminal_reason daemon_restarted, each with a run.failed event. Returns
  // their ids.
  StoreResult<std::vector<std::string>> fail_interrupted_runs(std::int64_t now_ms);

 private:
  explicit RunStore(SqliteDb db) : db_(std::move(db)) {}
  StoreResult<std::int64_t> append_event_locked(const std::string& run_id,
                                                const EventRecord& event);

  std::mutex mu_;
  SqliteDb db_;
};

// Applies the schema migrations from the database's user_version up to the
// latest, each in its own transaction.
StoreResult<int> migrate_schema(SqliteDb& db);

}  // namespace voidbox::daemon
