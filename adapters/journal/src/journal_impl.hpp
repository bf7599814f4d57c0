// The journal's state: its file's path and one connection behind a mutex.
#pragma once

#include "sqlite.hpp"

#include <conclave/journal/journal.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace conclave::journal {

struct journal::impl {
  std::string path;
  mutable std::mutex m;
  std::unique_ptr<detail::connection> db;  // null once closed

  /// The connection; journal_error once closed. Call with `m` held.
  detail::connection& conn() const {
    if (!db) throw journal_error("journal " + path + ": closed");
    return *db;
  }
};

namespace detail {

/// Opens (creating) the file at `path` as a journal: pragmas and schema. See journal::open.
std::unique_ptr<connection> open_journal(const std::string& path);

std::int64_t now_ms();

}  // namespace detail
}  // namespace conclave::journal
