// The journal's rules over any store: run kinds and statuses checked, run ids drawn, steps
// stamped; the store reads and writes.
#include "sqlite_store.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

namespace conclave::journal {
namespace {

std::string random_run_id() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;
  std::uint64_t bits = (std::uint64_t{rd()} << 32) ^ rd();
  std::string id = "run_";
  for (int i = 0; i < 16; ++i, bits >>= 4) id += hex[bits & 0xf];
  return id;
}

void check_kind(const std::string& where, std::string_view kind) {
  if (kind != "ask" && kind != "run" && kind != "task") {
    throw journal_error("journal " + where + ": unknown run kind \"" +
                        std::string(kind.substr(0, 32)) + "\" (ask, run or task)");
  }
}

[[noreturn]] void no_run(const std::string& where, std::string_view id) {
  throw journal_error("journal " + where + ": no run " + std::string(id.substr(0, 128)));
}

void check_final(const std::string& where, std::string_view status) {
  if (status != "succeeded" && status != "failed" && status != "cancelled") {
    throw journal_error("journal " + where + ": a run finishes succeeded, failed or " +
                        "cancelled, not \"" + std::string(status.substr(0, 32)) + "\"");
  }
}

run_record new_run(std::string_view id, std::string_view kind, std::string_view question,
                   std::string_view options_json, std::string_view plan_json,
                   std::string_view owner) {
  const std::int64_t now = detail::now_ms();
  return {.id = std::string(id),
          .kind = std::string(kind),
          .question = std::string(question),
          .options_json = std::string(options_json),
          .plan_json = std::string(plan_json),
          .status = "running",
          .created_ms = now,
          .updated_ms = now,
          .report_json = {},
          .owner = std::string(owner)};
}

}  // namespace

bool is_run_id(std::string_view id) noexcept {
  if (id.size() != 20 || id.substr(0, 4) != "run_") return false;
  return std::all_of(id.begin() + 4, id.end(),
                     [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

journal::journal(std::unique_ptr<store> s) : store_(std::move(s)) {}
journal::~journal() = default;
journal::journal(journal&&) noexcept = default;
journal& journal::operator=(journal&&) noexcept = default;

std::shared_ptr<journal> journal::open(const std::string& path) {
  return over(std::make_unique<sqlite_store>(path));
}

std::shared_ptr<journal> journal::over(std::unique_ptr<store> s) {
  if (!s) throw std::invalid_argument("journal::over: no store");
  return std::shared_ptr<journal>(new journal(std::move(s)));
}

const std::string& journal::path() const noexcept { return store_->where(); }

std::string journal::begin_run(std::string_view kind, std::string_view question,
                               std::string_view options_json, std::string_view plan_json,
                               std::string_view owner) {
  check_kind(path(), kind);
  // 64 random bits: a clash is all but impossible, and a clash is drawn again, not overwritten.
  for (int tries = 0; tries < 8; ++tries) {
    run_record r = new_run(random_run_id(), kind, question, options_json, plan_json, owner);
    if (store_->insert_run(r)) return r.id;
  }
  throw journal_error("journal " + path() + ": no free run id");
}

void journal::begin_run_with_id(std::string_view id, std::string_view kind,
                                std::string_view question, std::string_view options_json,
                                std::string_view plan_json, std::string_view owner) {
  check_kind(path(), kind);
  if (id.empty() || id.size() > 128) {
    throw journal_error("journal " + path() + ": a run id is 1 to 128 bytes");
  }
  if (!store_->insert_run(new_run(id, kind, question, options_json, plan_json, owner))) {
    throw journal_error("journal " + path() + ": run " + std::string(id) +
                        " is already in the journal");
  }
}

bool journal::record_step(std::string_view run_id, std::string_view key, std::string_view kind,
                          std::string_view json) {
  return store_->insert_step(
      run_id, {std::string(key), std::string(kind), std::string(json), detail::now_ms()});
}

void journal::finish_run(std::string_view run_id, std::string_view status,
                         std::string_view report_json) {
  check_final(path(), status);
  if (!store_->update_run(run_id, status, report_json, detail::now_ms())) no_run(path(), run_id);
}

bool journal::finish_held_run(std::string_view run_id, std::string_view status,
                              std::string_view report_json, std::string_view holder) {
  check_final(path(), status);
  switch (store_->update_held_run(run_id, status, report_json, detail::now_ms(), holder)) {
    case store::update_result::updated:
      return true;
    case store::update_result::held_by_another:
      return false;
    case store::update_result::no_run:
      break;
  }
  no_run(path(), run_id);
}

void journal::reopen_run(std::string_view run_id) {
  if (!store_->update_run(run_id, "running", "", detail::now_ms())) no_run(path(), run_id);
}

std::optional<run_record> journal::find(std::string_view run_id) const {
  return store_->find(run_id);
}
std::vector<journal::step> journal::steps(std::string_view run_id) const {
  return store_->steps(run_id);
}
std::vector<run_record> journal::unfinished() const { return store_->unfinished(); }
std::vector<run_record> journal::recent(std::size_t n) const { return store_->recent(n); }
std::size_t journal::prune_finished(std::int64_t older_than_ms) {
  return store_->prune_finished(older_than_ms);
}
bool journal::checkpoint() { return store_->checkpoint(); }
void journal::close() noexcept { store_->close(); }

bool journal::shared() const noexcept { return store_->shared(); }
hold_result journal::hold(std::string_view run_id, std::string_view holder,
                          std::chrono::milliseconds ttl) {
  return store_->hold(run_id, holder, ttl);
}
std::size_t journal::note_takeover(std::string_view run_id) {
  return store_->note_takeover(run_id);
}

cancel_request journal::request_cancel(std::string_view run_id) {
  return store_->request_cancel(run_id);
}

std::optional<journal::queued_run> journal::enqueue_run(
    std::string_view kind, std::string_view question, std::string_view options_json,
    std::string_view plan_json, std::string_view owner, std::string_view queue, int priority,
    std::size_t capacity) {
  check_kind(path(), kind);
  run_record r = new_run(random_run_id(), kind, question, options_json, plan_json, owner);
  const auto position = store_->enqueue_run(r, queue, priority, capacity);
  if (!position) return std::nullopt;
  return queued_run{std::move(r.id), *position};
}

std::optional<run_record> journal::claim_run(std::string_view queue, std::string_view holder,
                                             std::chrono::milliseconds ttl) {
  return store_->claim_run(queue, holder, ttl);
}

std::optional<std::size_t> journal::queue_position(std::string_view run_id,
                                                   std::string_view queue) const {
  return store_->queue_position(run_id, queue);
}

std::optional<std::size_t> store::enqueue_run(const run_record&, std::string_view, int,
                                              std::size_t) {
  throw journal_error("journal " + where() + ": no shared queue (a journal for one process)");
}
std::optional<run_record> store::claim_run(std::string_view, std::string_view,
                                           std::chrono::milliseconds) {
  return std::nullopt;
}
std::optional<std::size_t> store::queue_position(std::string_view, std::string_view) const {
  return std::nullopt;
}
std::optional<run_record> journal::find_by_owner(std::string_view owner) const {
  return store_->find_by_owner(owner);
}
void journal::release(std::string_view run_id, std::string_view holder) {
  store_->release(run_id, holder);
}

}  // namespace conclave::journal
