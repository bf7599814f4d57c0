#include "sqlite.hpp"

#include <sqlite3.h>

namespace conclave::journal::detail {

connection::connection(const std::string& path, int flags) : path_(path) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // A handle comes back even on failure (unless out of memory), holding the message.
    std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw journal_error("journal " + path + ": cannot open: " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
}

connection::~connection() { sqlite3_close_v2(db_); }

void connection::exec(const char* sql, std::string_view what) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
}

std::int64_t connection::changes() const noexcept { return sqlite3_changes64(db_); }

void connection::fail(std::string_view what) const {
  throw journal_error("journal " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

statement::statement(connection& c, std::string_view sql, std::string_view what)
    : c_(c), what_(what) {
  if (sqlite3_prepare_v2(c.get(), sql.data(), static_cast<int>(sql.size()), &s_, nullptr) !=
      SQLITE_OK) {
    c.fail(what);
  }
}

statement::~statement() { sqlite3_finalize(s_); }

statement& statement::bind(int i, std::string_view text) {
  // A non-null pointer even for an empty view: NULL would bind SQL NULL, not ''.
  const char* p = text.data() ? text.data() : "";
  if (sqlite3_bind_text64(s_, i, p, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
    c_.fail(what_);
  }
  return *this;
}

statement& statement::bind(int i, std::int64_t n) {
  if (sqlite3_bind_int64(s_, i, n) != SQLITE_OK) c_.fail(what_);
  return *this;
}

bool statement::step() {
  switch (sqlite3_step(s_)) {
    case SQLITE_ROW:
      return true;
    case SQLITE_DONE:
      return false;
    default:
      c_.fail(what_);
  }
}

void statement::run() {
  while (step()) {
  }
}

std::string statement::text(int column) const {
  const auto* p = sqlite3_column_text(s_, column);
  const int n = sqlite3_column_bytes(s_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

std::int64_t statement::integer(int column) const { return sqlite3_column_int64(s_, column); }

transaction::transaction(connection& c) : c_(c) { c_.exec("BEGIN IMMEDIATE", "cannot begin"); }

transaction::~transaction() {
  if (!done_) sqlite3_exec(c_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void transaction::commit() {
  c_.exec("COMMIT", "cannot commit");
  done_ = true;
}

}  // namespace conclave::journal::detail
