// The run store's schema, as an ordered list of migrations. A database's
// PRAGMA user_version is the number of migrations applied; never edit a
// migration that has shipped, append a new one.
#include <array>
#include <string>

#include "daemon/run_store.hpp"

namespace voidbox::daemon {
namespace {

constexpr std::array<const char*, 2> kMigrations = {
    // 1: the tables.
    R"sql(
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  attempt_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  file TEXT NOT NULL,
  spec_text TEXT NOT NULL,
  spec_format TEXT NOT NULL,
  input TEXT,
  policy TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  terminal_reason TEXT NOT NULL,
  exit_code INTEGER,
  error TEXT NOT NULL,
  report TEXT NOT NULL,
  output_ready INTEGER NOT NULL,
  terminal_event_id TEXT NOT NULL,
  artifact_status TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  backend TEXT NOT NULL
);
CREATE TABLE stages (
  run_id TEXT NOT NULL REFERENCES runs(id),
  stage_name TEXT NOT NULL,
  box_name TEXT NOT NULL,
  group_id TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  status TEXT NOT NULL,
  stage_attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  completed_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  exit_code INTEGER,
  position INTEGER NOT NULL,
  PRIMARY KEY (run_id, stage_name)
);
CREATE TABLE events (
  run_id TEXT NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  ts_ms INTEGER NOT NULL,
  level TEXT NOT NULL,
  event_type TEXT NOT NULL,
  message TEXT NOT NULL,
  box_name TEXT NOT NULL,
  stage_name TEXT NOT NULL,
  stream TEXT NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE artifacts (
  run_id TEXT NOT NULL REFERENCES runs(id),
  stage_name TEXT NOT NULL,
  name TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  checksum TEXT NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (run_id, stage_name, name)
);
CREATE TABLE sessions (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, seq)
);
)sql",
    // 2: listing by state without a scan.
    "CREATE INDEX runs_by_status ON runs(status, created_at);",
};

}  // namespace

int RunStore::latest_schema_version() {
  return static_cast<int>(kMigrations.size());
}

StoreResult<int> migrate_schema(SqliteDb& db) {
  auto version_of = [&]() -> StoreResult<int> {
    auto st = db.prepare("PRAGMA user_version");
    if (!st) return std::unexpected(st.error());
    auto row = st->step();
    if (!row) return std::unexpected(row.error());
    return static_cast<int>(st->integer(0));
  };
  auto version = version_of();
  if (!version) return version;
  if (*version > RunStore::latest_schema_version()) {
    return std::unexpected("the database has schema version " + std::to_string(*version) +
                           ", newer than this voidbox knows (" +
                           std::to_string(RunStore::latest_schema_version()) + ")");
  }
  for (int v = *version; v < RunStore::latest_schema_version(); ++v) {
    Transaction tx(db);
    if (auto b = tx.begun(); !b) return std::unexpected(b.error());
    if (auto r = db.exec(kMigrations[static_cast<std::size_t>(v)]); !r) {
      return std::unexpected("schema migration " + std::to_string(v + 1) + ": " + r.error());
    }
    if (auto r = db.exec("PRAGMA user_version = " + std::to_string(v + 1)); !r) {
      return std::unexpected(r.error());
    }
    if (auto r = tx.commit(); !r) return std::unexpected(r.error());
  }
  return RunStore::latest_schema_version();
}

}  // namespace voidbox::daemon
