// Opening a journal: the file (0600, no links), the pragmas, and the schema and its version.
#include "sqlite_store.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conclave::journal::detail {
namespace {

constexpr const char* schema_v1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('ask', 'run', 'task')),
  question TEXT NOT NULL,
  options_json TEXT NOT NULL,
  plan_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  report_json TEXT NOT NULL DEFAULT '',
  owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_status ON runs (status, created_ms);
CREATE INDEX runs_by_created ON runs (created_ms);
CREATE TABLE steps (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  kind TEXT NOT NULL,
  json TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  UNIQUE (run_id, key)
);
)sql";

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw journal_error("journal " + path + ": " + why);
}

// SQLite would create a missing file 0644; a journal holds questions and answers, so it is
// made here first, the user's alone. A link planted in its place is refused (O_NOFOLLOW, and
// SQLITE_OPEN_NOFOLLOW below), so is a FIFO or device (O_NONBLOCK: no hang on a FIFO).
void create_file(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP) refuse(path, "it is a symbolic link");
    if (e == ENXIO) refuse(path, "not a regular file");
    refuse(path, std::string("cannot open: ") + std::strerror(e));
  }
  struct stat st;
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) refuse(path, "not a regular file");
}

std::string pragma_text(connection& c, const char* sql, std::string_view what) {
  statement s(c, sql, what);
  return s.step() ? s.text(0) : std::string();
}

void make_schema(connection& c) {
  transaction t(c);
  statement has(c,
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = "
                "'schema_version'",
                "cannot read the schema");
  has.step();
  if (has.integer(0) == 0) {
    c.exec(schema_v1, "cannot create the schema");
    statement v(c, "INSERT INTO schema_version (version) VALUES (?1)", "cannot create the schema");
    v.bind(1, std::int64_t{schema_version}).run();
    t.commit();
    return;
  }
  statement v(c, "SELECT max(version) FROM schema_version", "cannot read the schema version");
  const std::int64_t found = v.step() ? v.integer(0) : 0;
  if (found > schema_version) {
    refuse(c.path(), "schema version " + std::to_string(found) +
                         " is newer than this conclave reads (" + std::to_string(schema_version) +
                         "): use a newer conclave or another journal file");
  }
  if (found < 1) refuse(c.path(), "no schema version recorded: not a conclave journal");
  // Older versions would be migrated here, inside this transaction.
  t.commit();
}

}  // namespace

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<connection> open_journal(const std::string& path) {
  if (path.empty()) throw journal_error("journal: no file named");
  create_file(path);
  auto c = std::make_unique<connection>(
      path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW);
  // Waits for another process's lock (a second conclave on the same journal) up to 5 s.
  sqlite3_busy_timeout(c->get(), 5000);
  // The first statement reads the file: a file that is not a database fails here.
  const std::string mode =
      pragma_text(*c, "PRAGMA journal_mode = WAL", "cannot use it as a journal");
  if (mode != "wal") refuse(path, "WAL mode refused (journal_mode is " + mode + ")");
  // WAL with NORMAL: a commit survives a killed process; a power cut may lose the last ones.
  c->exec("PRAGMA synchronous = NORMAL", "cannot set synchronous");
  c->exec("PRAGMA foreign_keys = ON", "cannot enable foreign keys");
  make_schema(*c);
  return c;
}

}  // namespace conclave::journal::detail
