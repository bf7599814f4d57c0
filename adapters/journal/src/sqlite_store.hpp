// The SQLite store: one file (WAL) and one connection behind a mutex.
#pragma once

#include "sqlite.hpp"

#include <conclave/journal/journal.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace conclave::journal {
namespace detail {

/// Opens (creating) the file at `path` as a journal: pragmas and schema. See journal::open.
std::unique_ptr<connection> open_journal(const std::string& path);

std::int64_t now_ms();

}  // namespace detail

class sqlite_store final : public store {
 public:
  explicit sqlite_store(std::string path);

  const std::string& where() const noexcept override { return path_; }
  bool insert_run(const run_record& r) override;
  bool insert_step(std::string_view run_id, const run_step& s) override;
  bool update_run(std::string_view run_id, std::string_view status, std::string_view report_json,
                  std::int64_t at_ms) override;
  std::optional<run_record> find(std::string_view run_id) const override;
  std::optional<run_record> find_by_owner(std::string_view owner) const override;
  std::vector<run_step> steps(std::string_view run_id) const override;
  std::vector<run_record> unfinished() const override;
  std::vector<run_record> recent(std::size_t n) const override;
  std::size_t prune_finished(std::int64_t older_than_ms) override;
  bool checkpoint() override;
  void close() noexcept override;

 private:
  /// The connection; journal_error once closed. Call with `m_` held.
  detail::connection& conn() const;

  std::string path_;
  mutable std::mutex m_;
  std::unique_ptr<detail::connection> db_;  // null once closed
};

}  // namespace conclave::journal
