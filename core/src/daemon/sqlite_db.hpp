// A thin RAII layer over one SQLite connection: statements with typed
// binds and columns, errors as values.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace voidbox::daemon {

using DbResult = std::expected<void, std::string>;

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::int64_t>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // true: a row is ready; false: done. An error is reported with the
  // database's message.
  std::expected<bool, std::string> step();
  DbResult run();  // steps to completion, for statements without rows

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  static std::expected<SqliteDb, std::string> open(const std::string& path);
  SqliteDb(SqliteDb&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  SqliteDb& operator=(SqliteDb&&) = delete;
  SqliteDb(const SqliteDb&) = delete;
  ~SqliteDb();

  std::expected<Statement, std::string> prepare(std::string_view sql);
  DbResult exec(const std::string& sql);  // one or more statements, no rows
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db) : db_(db) { begun_ = db_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (begun_ && !done_) (void)db_.exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  DbResult begun() const { return begun_; }
  DbResult commit() {
    auto r = db_.exec("COMMIT");
    if (r) done_ = true;
    return r;
  }

 private:
  SqliteDb& db_;
  DbResult begun_;
  bool done_ = false;
};

}  // namespace voidbox::daemon
