// The SQLite run store: schema migrations, WAL, runs/events/stages/
// artifacts/sessions, recovery after a dead daemon; atomic files.
#include "daemon/run_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "daemon/atomic_file.hpp"

namespace voidbox::daemon {
namespace {

std::filesystem::path temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "vbs-XXXXXX").string();
  EXPECT_NE(::mkdtemp(templ.data()), nullptr);
  return templ;
}

std::string query_one(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(st, 0);
    out = t ? reinterpret_cast<const char*>(t) : "";
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

class Store : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir = temp_dir();
  std::filesystem::path db = dir / "voidbox.db";
};

TEST_F(Store, ANewStoreIsInWalModeAtTheLatestSchema) {
  auto store = RunStore::open(db);
  ASSERT_TRUE(store) << store.error();
  EXPECT_EQ(query_one(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_one(db, "PRAGMA user_version"),
            std::to_string(RunStore::latest_schema_version()));
  EXPECT_EQ(query_one(db, "SELECT name FROM sqlite_master WHERE name='runs_by_status'"),
            "runs_by_status");
}

TEST_F(Store, AVersionOneDatabaseIsMigratedAndKeepsItsRuns) {
  {
    auto store = RunStore::open(db);
    ASSERT_TRUE(store);
    RunRecord r;
    r.id = "old-run";
    r.created_at = 5;
    ASSERT_TRUE((*store)->insert_run(r));
  }
  // Back to how version 1 left it: no index, user_version 1.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "DROP INDEX runs_by_status; PRAGMA user_version = 1;", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  auto store = RunStore::open(db);
  ASSERT_TRUE(store) << store.error();
  EXPECT_EQ(query_one(db, "PRAGMA user_version"), "2");
  EXPECT_EQ(query_one(db, "SELECT name FROM sqlite_master WHERE name='runs_by_status'"),
            "runs_by_status");
  auto run = (*store)->get_run("old-run");
  ASSERT_TRUE(run && *run);
  EXPECT_EQ((*run)->created_at, 5);
}

TEST_F(Store, ADatabaseFromANewerVoidboxIsRefused) {
  { ASSERT_TRUE(RunStore::open(db)); }
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  sqlite3_exec(h, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  auto store = RunStore::open(db);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().find("newer"), std::string::npos) << store.error();
}

TEST_F(Store, EventsGetConsecutiveSeqsPerRunAndTheCursorSkipsSeenOnes) {
  auto store = std::move(*RunStore::open(db));
  for (const char* id : {"a", "b"}) {
    RunRecord r;
    r.id = id;
    ASSERT_TRUE(store->insert_run(r));
  }
  for (int i = 0; i < 3; ++i) {
    EventRecord e;
    e.event_type = "log.chunk";
    e.message = "m" + std::to_string(i);
    EXPECT_EQ(*store->append_event("a", e), i + 1);
  }
  EXPECT_EQ(*store->append_event("b", EventRecord{}), 1);
  auto after = store->events_after("a", 1);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].message, "m1");
  EXPECT_EQ(*store->last_event_seq("a"), 3);
}

TEST_F(Store, RunsADeadDaemonLeftActiveBecomeFailedDaemonRestarted) {
  auto store = std::move(*RunStore::open(db));
  for (auto [id, status] : {std::pair{"p", "pending"}, {"r", "running"}, {"s", "succeeded"}}) {
    RunRecord r;
    r.id = id;
    r.status = status;
    ASSERT_TRUE(store->insert_run(r));
    StageRecord st;
    st.stage_name = "one";
    st.status = "running";
    ASSERT_TRUE(store->upsert_stage(id, st));
  }
  auto failed = store->fail_interrupted_runs(1234);
  ASSERT_TRUE(failed) << failed.error();
  EXPECT_EQ(*failed, (std::vector<std::string>{"p", "r"}));
  auto r = *store->get_run("r");
  EXPECT_EQ(r->status, "failed");
  EXPECT_EQ(r->terminal_reason, "daemon_restarted");
  EXPECT_EQ(r->terminal_event_id, "evt-1");
  EXPECT_EQ((*store->stages("r"))[0].status, "failed");
  EXPECT_EQ((*store->stages("s"))[0].status, "running");  // a finished run is left alone
  EXPECT_EQ((*store->events_after("r", 0))[0].event_type, "run.failed");
  EXPECT_EQ((*store->get_run("s"))->status, "succeeded");
  EXPECT_TRUE(store->fail_interrupted_runs(1300)->empty());
}

TEST_F(Store, StagesKeepTheirPlannedOrderAndArtifactsTheirManifest) {
  auto store = std::move(*RunStore::open(db));
  RunRecord r;
  r.id = "x";
  ASSERT_TRUE(store->insert_run(r));
  for (const char* name : {"zeta", "alpha"}) {
    StageRecord s;
    s.stage_name = name;
    ASSERT_TRUE(store->upsert_stage("x", s));
  }
  StageRecord done;
  done.stage_name = "zeta";
  done.status = "succeeded";
  done.exit_code = 0;
  ASSERT_TRUE(store->upsert_stage("x", done));
  auto stages = *store->stages("x");
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].stage_name, "zeta");
  EXPECT_EQ(stages[0].status, "succeeded");
  ASSERT_TRUE(store->add_artifact("x", {"zeta", "output", "text/plain", 3, "abc", "x/0/output"}));
  auto artifacts = *store->artifacts("x");
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].size_bytes, 3u);
  EXPECT_EQ(*store->append_session_message("s", {0, "user", "hi", 1}), 1);
  EXPECT_EQ(*store->append_session_message("s", {0, "assistant", "yo", 2}), 2);
  EXPECT_EQ((*store->session_messages("s"))[1].content, "yo");
}

TEST_F(Store, AtomicWritesLeaveTheWholeFileAndNoTemporary) {
  const auto path = dir / "a" / "b" / "out";
  ASSERT_TRUE(write_file_atomically(path, "first"));
  ASSERT_TRUE(write_file_atomically(path, "second version"));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "second version");
  for (const auto& e : std::filesystem::directory_iterator(path.parent_path())) {
    EXPECT_EQ(e.path().filename(), "out");
  }
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ofstream(path.parent_path() / ".tmp-1-0-out") << "half";
  EXPECT_EQ(remove_stale_temporaries(dir), 1u);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(fnv1a_hex(""), "cbf29ce484222325");
  EXPECT_NE(fnv1a_hex("a"), fnv1a_hex("b"));
}

}  // namespace
}  // namespace voidbox::daemon
