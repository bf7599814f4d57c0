// Small RAII wrappers over the SQLite C API: a connection and a prepared statement with bound
// parameters. Every failure throws journal_error naming the file, what was being done and
// SQLite's own message.
#pragma once

#include <conclave/journal/journal.hpp>

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace conclave::journal::detail {

class connection {
 public:
  /// sqlite3_open_v2 with `flags`; throws journal_error on failure.
  connection(const std::string& path, int flags);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  sqlite3* get() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

  /// Runs SQL with no parameters and no rows wanted (pragmas, schema, BEGIN/COMMIT).
  void exec(const char* sql, std::string_view what);
  /// Rows changed by the last statement.
  std::int64_t changes() const noexcept;

  /// Throws journal_error: "journal <path>: <what>: <SQLite's message>".
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class statement {
 public:
  statement(connection& c, std::string_view sql, std::string_view what);
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  /// Binds parameter `i` (from 1). Text is copied (SQLITE_TRANSIENT).
  statement& bind(int i, std::string_view text);
  statement& bind(int i, std::int64_t n);

  /// One step: true with a row to read, false when done.
  bool step();
  /// Steps to the end, for statements without rows.
  void run();

  std::string text(int column) const;
  std::int64_t integer(int column) const;

 private:
  connection& c_;
  sqlite3_stmt* s_ = nullptr;
  std::string_view what_;
};

/// BEGIN IMMEDIATE ... COMMIT; rolled back if not committed (an exception left the scope).
class transaction {
 public:
  explicit transaction(connection& c);
  ~transaction();
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit();

 private:
  connection& c_;
  bool done_ = false;
};

}  // namespace conclave::journal::detail
