// The run journal on Redis, shared by several `conclave serve` instances: a run whose instance
// died is resumed by another from its recorded steps, without paying again for finished agents.
//
// Keys (PREFIX:journal:...): run:{id} (a hash of the run_record's fields), steps:{id} (a hash,
// step key -> kind, time and event), order:{id} (the step keys in the order written),
// running (a sorted set of unfinished runs by creation), runs (every run by creation), and
// hold:{id} (the holder's name, with the hold's expiry). Each write is one Lua script, so a
// step is written once and in order even when two instances race. A finished run's keys expire
// after `result_ttl`; a reopened run's expiry is lifted.
//
// Blocking, like the SQLite store it stands in for: each call is one round trip on hiredis's
// synchronous connection, on the caller's thread, under a mutex, bounded by `command_timeout`
// (connect: `connect_timeout`). A broken connection is opened again by the next call; an
// idempotent call is tried once more on a fresh connection. After a failed connect, calls
// fail at once for a backoff (0.5 s doubling to 10 s), so an unreachable server does not
// cost every call its connect timeout. No TLS (hiredis 0.14): loopback or
// a private network only.
#pragma once

#include <conclave/journal/journal.hpp>
#include <conclave/redis/reply.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace conclave::redis {

struct journal_options {
  endpoint where;
  std::string prefix = "conclave";                   ///< every key starts with it
  std::chrono::milliseconds result_ttl{86'400'000};  ///< a finished run is kept this long
  std::chrono::milliseconds connect_timeout{1'000};  ///< per connect
  std::chrono::milliseconds command_timeout{2'000};  ///< per round trip
};

/// A journal over Redis (journal::shared() is true). Connects at once, so a wrong address or
/// password fails here: journal::journal_error naming the server (never its password).
std::shared_ptr<journal::journal> open_journal(const journal_options& o);

}  // namespace conclave::redis
