#include "daemon/run_store.hpp"

#include <utility>

namespace voidbox::daemon {
namespace {

constexpr const char* kRunColumns =
    "id, attempt_id, status, file, spec_text, spec_format, input, policy, created_at, "
    "started_at, updated_at, finished_at, terminal_reason, exit_code, error, report, "
    "output_ready, terminal_event_id, artifact_status, published_at, backend";

RunRecord read_run(const Statement& st) {
  RunRecord r;
  r.id = st.text(0);
  r.attempt_id = st.integer(1);
  r.status = st.text(2);
  r.file = st.text(3);
  r.spec_text = st.text(4);
  r.spec_format = st.text(5);
  if (!st.is_null(6)) r.input = st.text(6);
  r.policy_json = st.text(7);
  r.created_at = st.integer(8);
  r.started_at = st.integer(9);
  r.updated_at = st.integer(10);
  r.finished_at = st.integer(11);
  r.terminal_reason = st.text(12);
  if (!st.is_null(13)) r.exit_code = st.integer(13);
  r.error = st.text(14);
  r.report_json = st.text(15);
  r.output_ready = st.integer(16) != 0;
  r.terminal_event_id = st.text(17);
  r.artifact_status = st.text(18);
  r.published_at = st.integer(19);
  r.backend = st.text(20);
  return r;
}

// Binds every column but id, from index 2 on; id goes to index 1.
void bind_run(Statement& st, const RunRecord& r) {
  st.bind(1, r.id)
      .bind(2, r.attempt_id)
      .bind(3, r.status)
      .bind(4, r.file)
      .bind(5, r.spec_text)
      .bind(6, r.spec_format);
  if (r.input) {
    st.bind(7, *r.input);
  } else {
    st.bind_null(7);
  }
  st.bind(8, r.policy_json)
      .bind(9, r.created_at)
      .bind(10, r.started_at)
      .bind(11, r.updated_at)
      .bind(12, r.finished_at)
      .bind(13, r.terminal_reason)
      .bind(14, r.exit_code)
      .bind(15, r.error)
      .bind(16, r.report_json)
      .bind(17, std::int64_t{r.output_ready ? 1 : 0})
      .bind(18, r.terminal_event_id)
      .bind(19, r.artifact_status)
      .bind(20, r.published_at)
      .bind(21, r.backend);
}

const char* filter_clause(RunFilter filter) {
  switch (filter) {
    case RunFilter::active:
      return " WHERE status IN ('pending','starting','running')";
    case RunFilter::terminal:
      return " WHERE status IN ('succeeded','failed','cancelled')";
    case RunFilter::all:
      break;
  }
  return "";
}

}  // namespace

bool is_terminal_status(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

StoreResult<std::unique_ptr<RunStore>> RunStore::open(const std::filesystem::path& path) {
  auto db = SqliteDb::open(path.string());
  if (!db) return std::unexpected(db.error());
  // WAL: readers (a second voidbox, an integrity check) never block the
  // daemon's writes; NORMAL sync in WAL loses nothing when the process dies,
  // only (at worst) the last commits on power loss.
  for (const char* pragma : {"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL",
                             "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"}) {
    if (auto r = db->exec(pragma); !r)
      return std::unexpected(std::string(pragma) + ": " + r.error());
  }
  if (auto m = migrate_schema(*db); !m) return std::unexpected(m.error());
  return std::unique_ptr<RunStore>(new RunStore(std::move(*db)));
}

StoreResult<void> RunStore::insert_run(const RunRecord& run) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(std::string("INSERT INTO runs (") + kRunColumns +
                        ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
                        "?18,?19,?20,?21)");
  if (!st) return std::unexpected(st.error());
  bind_run(*st, run);
  return st->run();
}

StoreResult<std::optional<RunRecord>> RunStore::get_run(const std::string& id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, id);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<RunRecord>{};
  return std::optional<RunRecord>{read_run(*st)};
}

StoreResult<std::vector<RunRecord>> RunStore::list_runs(RunFilter filter) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kRunColumns + " FROM runs" +
                        filter_clause(filter) + " ORDER BY created_at, id");
  if (!st) return std::unexpected(st.error());
  std::vector<RunRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(read_run(*st));
  }
  return out;
}

StoreResult<std::int64_t> RunStore::count_runs(RunFilter filter) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(std::string("SELECT COUNT(*) FROM runs") + filter_clause(filter));
  if (!st) return std::unexpected(st.error());
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  return st->integer(0);
}

StoreResult<void> RunStore::update_run(const RunRecord& run) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "UPDATE runs SET attempt_id=?2, status=?3, file=?4, spec_text=?5, spec_format=?6, "
      "input=?7, policy=?8, created_at=?9, started_at=?10, updated_at=?11, finished_at=?12, "
      "terminal_reason=?13, exit_code=?14, error=?15, report=?16, output_ready=?17, "
      "terminal_event_id=?18, artifact_status=?19, published_at=?20, backend=?21 WHERE id=?1");
  if (!st) return std::unexpected(st.error());
  bind_run(*st, run);
  return st->run();
}

StoreResult<std::int64_t> RunStore::append_event_locked(const std::string& run_id,
                                                        const EventRecord& e) {
  auto st = db_.prepare(
      "INSERT INTO events (run_id, seq, ts_ms, level, event_type, message, box_name, stage_name, "
      "stream, payload) SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 "
      "FROM events WHERE run_id = ?1 RETURNING seq");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id)
      .bind(2, e.ts_ms)
      .bind(3, e.level)
      .bind(4, e.event_type)
      .bind(5, e.message)
      .bind(6, e.box_name)
      .bind(7, e.stage_name)
      .bind(8, e.stream)
      .bind(9, e.payload_json);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::unexpected(std::string("event insert returned no seq"));
  std::int64_t seq = st->integer(0);
  if (auto done = st->run(); !done) return std::unexpected(done.error());
  return seq;
}

StoreResult<std::int64_t> RunStore::append_event(const std::string& run_id,
                                                 const EventRecord& event) {
  std::lock_guard lock(mu_);
  return append_event_locked(run_id, event);
}

StoreResult<std::vector<EventRecord>> RunStore::events_after(const std::string& run_id,
                                                             std::int64_t after_seq,
                                                             std::int64_t limit) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "SELECT seq, ts_ms, level, event_type, message, box_name, stage_name, stream, payload "
      "FROM events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id).bind(2, after_seq).bind(3, limit);
  std::vector<EventRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    EventRecord e;
    e.seq = st->integer(0);
    e.ts_ms = st->integer(1);
    e.level = st->text(2);
    e.event_type = st->text(3);
    e.message = st->text(4);
    e.box_name = st->text(5);
    e.stage_name = st->text(6);
    e.stream = st->text(7);
    e.payload_json = st->text(8);
    out.push_back(std::move(e));
  }
  return out;
}

StoreResult<std::int64_t> RunStore::last_event_seq(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?1");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  return st->integer(0);
}

StoreResult<void> RunStore::upsert_stage(const std::string& run_id, const StageRecord& s) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT INTO stages (run_id, stage_name, box_name, group_id, depends_on, status, "
      "stage_attempt, started_at, completed_at, duration_ms, exit_code, position) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
      " (SELECT COUNT(*) FROM stages WHERE run_id = ?1)) "
      "ON CONFLICT (run_id, stage_name) DO UPDATE SET box_name=?3, group_id=?4, depends_on=?5, "
      "status=?6, stage_attempt=?7, started_at=?8, completed_at=?9, duration_ms=?10, "
      "exit_code=?11");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id)
      .bind(2, s.stage_name)
      .bind(3, s.box_name)
      .bind(4, s.group_id)
      .bind(5, s.depends_on_json)
      .bind(6, s.status)
      .bind(7, s.stage_attempt)
      .bind(8, s.started_at)
      .bind(9, s.completed_at)
      .bind(10, s.duration_ms)
      .bind(11, s.exit_code);
  return st->run();
}

StoreResult<std::vector<StageRecord>> RunStore::stages(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "SELECT stage_name, box_name, group_id, depends_on, status, stage_attempt, started_at, "
      "completed_at, duration_ms, exit_code FROM stages WHERE run_id = ?1 ORDER BY position");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id);
  std::vector<StageRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    StageRecord s;
    s.stage_name = st->text(0);
    s.box_name = st->text(1);
    s.group_id = st->text(2);
    s.depends_on_json = st->text(3);
    s.status = st->text(4);
    s.stage_attempt = st->integer(5);
    s.started_at = st->integer(6);
    s.completed_at = st->integer(7);
    s.duration_ms = st->integer(8);
    if (!st->is_null(9)) s.exit_code = st->integer(9);
    out.push_back(std::move(s));
  }
  return out;
}

StoreResult<void> RunStore::add_artifact(const std::string& run_id, const ArtifactRecord& a) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT OR REPLACE INTO artifacts (run_id, stage_name, name, media_type, size_bytes, "
      "checksum, path) VALUES (?1,?2,?3,?4,?5,?6,?7)");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id)
      .bind(2, a.stage_name)
      .bind(3, a.name)
      .bind(4, a.media_type)
      .bind(5, static_cast<std::int64_t>(a.size_bytes))
      .bind(6, a.checksum)
      .bind(7, a.path);
  return st->run();
}

StoreResult<std::vector<ArtifactRecord>> RunStore::artifacts(const std::string& run_id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "SELECT stage_name, name, media_type, size_bytes, checksum, path FROM artifacts "
      "WHERE run_id = ?1 ORDER BY rowid");
  if (!st) return std::unexpected(st.error());
  st->bind(1, run_id);
  std::vector<ArtifactRecord> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({st->text(0), st->text(1), st->text(2),
                   static_cast<std::uint64_t>(st->integer(3)), st->text(4), st->text(5)});
  }
  return out;
}

StoreResult<std::int64_t> RunStore::append_session_message(const std::string& session_id,
                                                           const SessionMessage& m) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "INSERT INTO sessions (session_id, seq, role, content, ts_ms) SELECT ?1, "
      "COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 FROM sessions WHERE session_id = ?1 RETURNING seq");
  if (!st) return std::unexpected(st.error());
  st->bind(1, session_id).bind(2, m.role).bind(3, m.content).bind(4, m.ts_ms);
  auto row = st->step();
  if (!row) return std::unexpected(row.error());
  std::int64_t seq = st->integer(0);
  if (auto done = st->run(); !done) return std::unexpected(done.error());
  return seq;
}

StoreResult<std::vector<SessionMessage>> RunStore::session_messages(const std::string& session_id) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "SELECT seq, role, content, ts_ms FROM sessions WHERE session_id = ?1 ORDER BY seq");
  if (!st) return std::unexpected(st.error());
  st->bind(1, session_id);
  std::vector<SessionMessage> out;
  for (;;) {
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({st->integer(0), st->text(1), st->text(2), st->integer(3)});
  }
  return out;
}

StoreResult<std::vector<std::string>> RunStore::fail_interrupted_runs(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (auto b = tx.begun(); !b) return std::unexpected(b.error());
  std::vector<std::string> ids;
  {
    auto st = db_.prepare(std::string("SELECT id FROM runs") + filter_clause(RunFilter::active));
    if (!st) return std::unexpected(st.error());
    for (;;) {
      auto row = st->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      ids.push_back(st->text(0));
    }
  }
  for (const auto& id : ids) {
    EventRecord e;
    e.ts_ms = now_ms;
    e.level = "error";
    e.event_type = "run.failed";
    e.message = "the daemon restarted while the run was active";
    e.payload_json = R"({"terminal_reason":"daemon_restarted"})";
    auto seq = append_event_locked(id, e);
    if (!seq) return std::unexpected(seq.error());
    auto st = db_.prepare(
        "UPDATE runs SET status='failed', terminal_reason='daemon_restarted', "
        "error='the daemon restarted while the run was active', updated_at=?2, "
        "finished_at=?2, terminal_event_id=?3, "
        "artifact_status=CASE artifact_status WHEN 'publishing' THEN 'failed' "
        "ELSE artifact_status END WHERE id=?1");
    if (!st) return std::unexpected(st.error());
    st->bind(1, id).bind(2, now_ms).bind(3, "evt-" + std::to_string(*seq));
    if (auto r = st->run(); !r) return std::unexpected(r.error());
    // Its stages end too: the running ones failed, the queued never ran.
    auto stages = db_.prepare(
        "UPDATE stages SET status = CASE status WHEN 'running' THEN 'failed' ELSE 'skipped' END, "
        "completed_at = ?2 WHERE run_id = ?1 AND status IN ('running', 'queued')");
    if (!stages) return std::unexpected(stages.error());
    stages->bind(1, id).bind(2, now_ms);
    if (auto r = stages->run(); !r) return std::unexpected(r.error());
  }
  if (auto c = tx.commit(); !c) return std::unexpected(c.error());
  return ids;
}

}  // namespace voidbox::daemon
