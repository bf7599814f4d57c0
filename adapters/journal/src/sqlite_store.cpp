// The SQLite store's runs and steps: each call one short statement or transaction, under the
// mutex.
#include "sqlite_store.hpp"

#include <algorithm>
#include <limits>
#include <sqlite3.h>

namespace conclave::journal {
namespace {

using detail::statement;

constexpr const char* run_columns =
    "id, kind, question, options_json, plan_json, status, created_ms, updated_ms, report_json, "
    "owner";

run_record read_run(const statement& s) {
  return {.id = s.text(0),
          .kind = s.text(1),
          .question = s.text(2),
          .options_json = s.text(3),
          .plan_json = s.text(4),
          .status = s.text(5),
          .created_ms = s.integer(6),
          .updated_ms = s.integer(7),
          .report_json = s.text(8),
          .owner = s.text(9)};
}

std::vector<run_record> read_runs(statement& s) {
  std::vector<run_record> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

bool has_run(detail::connection& c, std::string_view id) {
  statement s(c, "SELECT 1 FROM runs WHERE id = ?1", "cannot read the runs");
  return s.bind(1, id).step();
}

}  // namespace

sqlite_store::sqlite_store(std::string path)
    : path_(std::move(path)), db_(detail::open_journal(path_)) {}

detail::connection& sqlite_store::conn() const {
  if (!db_) throw journal_error("journal " + path_ + ": closed");
  return *db_;
}

bool sqlite_store::insert_run(const run_record& r) {
  std::lock_guard lock(m_);
  auto& c = conn();
  detail::transaction t(c);
  if (has_run(c, r.id)) return false;
  statement s(c,
              "INSERT INTO runs (id, kind, question, options_json, plan_json, status, "
              "created_ms, updated_ms, owner) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?6, ?7)",
              "cannot begin a run");
  s.bind(1, r.id).bind(2, r.kind).bind(3, r.question).bind(4, r.options_json);
  s.bind(5, r.plan_json).bind(6, r.created_ms).bind(7, r.owner).run();
  t.commit();
  return true;
}

bool sqlite_store::insert_step(std::string_view run_id, const run_step& step) {
  std::lock_guard lock(m_);
  auto& c = conn();
  statement s(c,
              "INSERT OR IGNORE INTO steps (run_id, key, kind, json, at_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5)",
              "cannot record a step");
  s.bind(1, run_id).bind(2, step.key).bind(3, step.kind).bind(4, step.json).bind(5, step.at_ms);
  try {
    s.run();
  } catch (const journal_error&) {
    // OR IGNORE does not cover foreign keys: a step of an unknown run fails; say so plainly.
    if (!has_run(c, run_id)) {
      throw journal_error("journal " + path_ + ": no run " + std::string(run_id.substr(0, 128)));
    }
    throw;
  }
  return c.changes() == 1;
}

bool sqlite_store::update_run(std::string_view run_id, std::string_view status,
                              std::string_view report_json, std::int64_t at_ms) {
  std::lock_guard lock(m_);
  auto& c = conn();
  statement s(c, "UPDATE runs SET status = ?2, report_json = ?3, updated_ms = ?4 WHERE id = ?1",
              "cannot update a run");
  s.bind(1, run_id).bind(2, status).bind(3, report_json).bind(4, at_ms).run();
  return c.changes() != 0;
}

std::optional<run_record> sqlite_store::find(std::string_view run_id) const {
  std::lock_guard lock(m_);
  statement s(conn(), std::string("SELECT ") + run_columns + " FROM runs WHERE id = ?1",
              "cannot read a run");
  if (!s.bind(1, run_id).step()) return std::nullopt;
  return read_run(s);
}

std::optional<run_record> sqlite_store::find_by_owner(std::string_view owner) const {
  std::lock_guard lock(m_);
  statement s(conn(),
              std::string("SELECT ") + run_columns +
                  " FROM runs WHERE owner = ?1 ORDER BY created_ms DESC, rowid DESC LIMIT 1",
              "cannot read a run");
  if (!s.bind(1, owner).step()) return std::nullopt;
  return read_run(s);
}

std::vector<run_step> sqlite_store::steps(std::string_view run_id) const {
  std::lock_guard lock(m_);
  statement s(conn(), "SELECT key, kind, json, at_ms FROM steps WHERE run_id = ?1 ORDER BY seq",
              "cannot read the steps");
  s.bind(1, run_id);
  std::vector<run_step> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
  return out;
}

std::vector<run_record> sqlite_store::unfinished() const {
  std::lock_guard lock(m_);
  statement s(conn(),
              std::string("SELECT ") + run_columns +
                  " FROM runs WHERE status = 'running' ORDER BY created_ms, rowid",
              "cannot read the runs");
  return read_runs(s);
}

std::vector<run_record> sqlite_store::recent(std::size_t n) const {
  std::lock_guard lock(m_);
  statement s(conn(),
              std::string("SELECT ") + run_columns +
                  " FROM runs ORDER BY created_ms DESC, rowid DESC LIMIT ?1",
              "cannot read the runs");
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  s.bind(1, static_cast<std::int64_t>(std::min(n, most)));
  return read_runs(s);
}

std::size_t sqlite_store::prune_finished(std::int64_t older_than_ms) {
  std::lock_guard lock(m_);
  auto& c = conn();
  // The steps go with their run (ON DELETE CASCADE); changes() counts the runs alone.
  statement s(c, "DELETE FROM runs WHERE status <> 'running' AND updated_ms < ?1", "cannot prune");
  s.bind(1, older_than_ms).run();
  return static_cast<std::size_t>(c.changes());
}

bool sqlite_store::checkpoint() {
  std::lock_guard lock(m_);
  auto& c = conn();
  const int rc =
      sqlite3_wal_checkpoint_v2(c.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc == SQLITE_BUSY) return false;
  if (rc != SQLITE_OK) c.fail("cannot checkpoint");
  return true;
}

void sqlite_store::close() noexcept {
  std::lock_guard lock(m_);
  db_.reset();
}

}  // namespace conclave::journal
