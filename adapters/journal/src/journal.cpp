// The journal's runs and steps: each call one short statement or transaction, under the mutex.
#include "journal_impl.hpp"

#include <algorithm>
#include <limits>
#include <random>
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

std::string random_run_id() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;
  std::uint64_t bits = (std::uint64_t{rd()} << 32) ^ rd();
  std::string id = "run_";
  for (int i = 0; i < 16; ++i, bits >>= 4) id += hex[bits & 0xf];
  return id;
}

bool has_run(detail::connection& c, std::string_view id) {
  statement s(c, "SELECT 1 FROM runs WHERE id = ?1", "cannot read the runs");
  return s.bind(1, id).step();
}

void check_kind(const std::string& path, std::string_view kind) {
  if (kind != "ask" && kind != "run" && kind != "task") {
    throw journal_error("journal " + path + ": unknown run kind \"" +
                        std::string(kind.substr(0, 32)) + "\" (ask, run or task)");
  }
}

[[noreturn]] void no_run(const std::string& path, std::string_view id) {
  throw journal_error("journal " + path + ": no run " + std::string(id.substr(0, 128)));
}

void insert_run(detail::connection& c, std::string_view id, std::string_view kind,
                std::string_view question, std::string_view options_json,
                std::string_view plan_json, std::string_view owner) {
  const std::int64_t now = detail::now_ms();
  statement s(c,
              "INSERT INTO runs (id, kind, question, options_json, plan_json, status, "
              "created_ms, updated_ms, owner) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?6, ?7)",
              "cannot begin a run");
  s.bind(1, id).bind(2, kind).bind(3, question).bind(4, options_json).bind(5, plan_json);
  s.bind(6, now).bind(7, owner).run();
}

}  // namespace

bool is_run_id(std::string_view id) noexcept {
  if (id.size() != 20 || id.substr(0, 4) != "run_") return false;
  return std::all_of(id.begin() + 4, id.end(),
                     [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

journal::journal(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
journal::~journal() = default;
journal::journal(journal&&) noexcept = default;
journal& journal::operator=(journal&&) noexcept = default;

std::shared_ptr<journal> journal::open(const std::string& path) {
  auto p = std::make_unique<impl>();
  p->path = path;
  p->db = detail::open_journal(path);
  return std::shared_ptr<journal>(new journal(std::move(p)));
}

const std::string& journal::path() const noexcept { return impl_->path; }

std::string journal::begin_run(std::string_view kind, std::string_view question,
                               std::string_view options_json, std::string_view plan_json,
                               std::string_view owner) {
  check_kind(impl_->path, kind);
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  detail::transaction t(c);
  // 64 random bits: a clash is all but impossible, and a clash is drawn again, not overwritten.
  std::string id = random_run_id();
  for (int tries = 0; has_run(c, id); ++tries) {
    if (tries == 8) throw journal_error("journal " + impl_->path + ": no free run id");
    id = random_run_id();
  }
  insert_run(c, id, kind, question, options_json, plan_json, owner);
  t.commit();
  return id;
}

void journal::begin_run_with_id(std::string_view id, std::string_view kind,
                                std::string_view question, std::string_view options_json,
                                std::string_view plan_json, std::string_view owner) {
  check_kind(impl_->path, kind);
  if (id.empty() || id.size() > 128) {
    throw journal_error("journal " + impl_->path + ": a run id is 1 to 128 bytes");
  }
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  detail::transaction t(c);
  if (has_run(c, id)) {
    throw journal_error("journal " + impl_->path + ": run " + std::string(id) +
                        " is already in the journal");
  }
  insert_run(c, id, kind, question, options_json, plan_json, owner);
  t.commit();
}

bool journal::record_step(std::string_view run_id, std::string_view key, std::string_view kind,
                          std::string_view json) {
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  statement s(c,
              "INSERT OR IGNORE INTO steps (run_id, key, kind, json, at_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5)",
              "cannot record a step");
  s.bind(1, run_id).bind(2, key).bind(3, kind).bind(4, json).bind(5, detail::now_ms());
  try {
    s.run();
  } catch (const journal_error&) {
    // OR IGNORE does not cover foreign keys: a step of an unknown run fails; say so plainly.
    if (!has_run(c, run_id)) no_run(impl_->path, run_id);
    throw;
  }
  return c.changes() == 1;
}

void journal::finish_run(std::string_view run_id, std::string_view status,
                         std::string_view report_json) {
  if (status != "succeeded" && status != "failed" && status != "cancelled") {
    throw journal_error("journal " + impl_->path + ": a run finishes succeeded, failed or " +
                        "cancelled, not \"" + std::string(status.substr(0, 32)) + "\"");
  }
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  statement s(c, "UPDATE runs SET status = ?2, report_json = ?3, updated_ms = ?4 WHERE id = ?1",
              "cannot finish a run");
  s.bind(1, run_id).bind(2, status).bind(3, report_json).bind(4, detail::now_ms()).run();
  if (c.changes() == 0) no_run(impl_->path, run_id);
}

void journal::reopen_run(std::string_view run_id) {
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  statement s(c,
              "UPDATE runs SET status = 'running', report_json = '', updated_ms = ?2 "
              "WHERE id = ?1",
              "cannot reopen a run");
  s.bind(1, run_id).bind(2, detail::now_ms()).run();
  if (c.changes() == 0) no_run(impl_->path, run_id);
}

std::optional<run_record> journal::find(std::string_view run_id) const {
  std::lock_guard lock(impl_->m);
  statement s(impl_->conn(), std::string("SELECT ") + run_columns + " FROM runs WHERE id = ?1",
              "cannot read a run");
  if (!s.bind(1, run_id).step()) return std::nullopt;
  return read_run(s);
}

std::vector<journal::step> journal::steps(std::string_view run_id) const {
  std::lock_guard lock(impl_->m);
  statement s(impl_->conn(),
              "SELECT key, kind, json, at_ms FROM steps WHERE run_id = ?1 ORDER BY seq",
              "cannot read the steps");
  s.bind(1, run_id);
  std::vector<step> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
  return out;
}

std::vector<run_record> journal::unfinished() const {
  std::lock_guard lock(impl_->m);
  statement s(impl_->conn(),
              std::string("SELECT ") + run_columns +
                  " FROM runs WHERE status = 'running' ORDER BY created_ms, rowid",
              "cannot read the runs");
  return read_runs(s);
}

std::vector<run_record> journal::recent(std::size_t n) const {
  std::lock_guard lock(impl_->m);
  statement s(impl_->conn(),
              std::string("SELECT ") + run_columns +
                  " FROM runs ORDER BY created_ms DESC, rowid DESC LIMIT ?1",
              "cannot read the runs");
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  s.bind(1, static_cast<std::int64_t>(std::min(n, most)));
  return read_runs(s);
}

std::size_t journal::prune_finished(std::int64_t older_than_ms) {
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  // The steps go with their run (ON DELETE CASCADE); changes() counts the runs alone.
  statement s(c, "DELETE FROM runs WHERE status <> 'running' AND updated_ms < ?1", "cannot prune");
  s.bind(1, older_than_ms).run();
  return static_cast<std::size_t>(c.changes());
}

bool journal::checkpoint() {
  std::lock_guard lock(impl_->m);
  auto& c = impl_->conn();
  const int rc =
      sqlite3_wal_checkpoint_v2(c.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc == SQLITE_BUSY) return false;
  if (rc != SQLITE_OK) c.fail("cannot checkpoint");
  return true;
}

void journal::close() noexcept {
  std::lock_guard lock(impl_->m);
  impl_->db.reset();
}

}  // namespace conclave::journal
