// The attempt log: every run (`conclave ask`, later `conclave run`) appends one JSON line to a
// per-user file, and `conclave log` shows the recent ones with their speedups. The entry, the
// path and the table are pure functions; appending and reading are a few system calls each.
#pragma once

#include <conclave/engine/report.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::cli {

/// Bumped when a field of a log line changes meaning or goes away ("v" in every line).
inline constexpr int log_entry_version = 1;

/// Longest question a log line keeps, in bytes (cut on a UTF-8 character boundary).
inline constexpr std::size_t log_question_bytes = 2000;

/// The run as one log line's object: {"v", "when", "command", "question", "plan",
/// "subtasks", "wall_ms", "agent_time_sum_ms", "speedup", "tokens", "cost", "outcome"}.
/// `outcome` is "ok", "degraded", or the run's error id (error_id(ec): "cancelled",
/// "all_agents_failed"...). `when` is RFC 3339 UTC with milliseconds.
boost::json::object log_entry(const run_report& r, const boost::system::error_code& ec,
                              std::string_view command, std::chrono::system_clock::time_point when);

/// The "plan" member of a log line: {"subtasks", "edges", "depth"} (a flat fan-out for now:
/// no edges, depth 1).
boost::json::object plan_summary(const run_report& r);

/// `t` as RFC 3339 UTC with milliseconds: "2026-11-26T05:55:01.234Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

/// Reads an environment variable: empty when unset.
using env_lookup = std::function<std::string(const char* name)>;

/// The per-user log: $XDG_STATE_HOME/conclave/runs.jsonl, else
/// $HOME/.local/state/conclave/runs.jsonl. A relative or empty variable is ignored (the XDG
/// base directory spec calls relative paths invalid); nullopt when neither is usable.
std::optional<std::string> default_log_path(const env_lookup& env);

/// The process's environment, for default_log_path.
std::string process_env(const char* name);

/// Appends `entry` as one line to `path` with a single write(): O_APPEND (concurrent runs do
/// not interleave), the file created 0600, missing parent directories created 0700, a symbolic
/// link or anything but a regular file refused. Returns empty on success, else what went
/// wrong, naming the path.
std::string append_log(const std::string& path, const boost::json::object& entry);

/// What read_recent found.
struct log_read {
  std::vector<boost::json::object> entries;  ///< oldest first, at most `n`
  std::size_t skipped = 0;  ///< lines that were not a JSON object (garbage, cut, binary)
  bool missing = false;     ///< the file does not exist
  std::string error;        ///< the file could not be read (naming the path); empty: read
};

/// The last `n` well-formed lines of the log at `path`, reading at most its last `max_bytes`
/// (a partial first line there is dropped). Malformed lines are skipped and counted; never
/// throws on what the file holds.
log_read read_recent(const std::string& path, std::size_t n,
                     std::size_t max_bytes = std::size_t{4} << 20);

/// The entries as a table `width` columns wide: when (local time, or UTC with `utc`), wall,
/// speedup, agents ok/total, tokens, cost, outcome, and the question neutralised for the
/// terminal (no control characters or escape sequences) and cut to what is left of the width.
/// Fields missing or of the wrong type show as "?".
std::string format_log_table(const std::vector<boost::json::object>& entries, int width,
                             bool utc = false);

/// After a run: appends its entry to `path` (empty: default_log_path of the process's
/// environment). When that fails, or no path can be found, says so in one warning line on
/// stderr; never throws, and the run's output and exit status stay as they are.
void record_run(const std::string& path, std::string_view command, const run_report& r,
                const boost::system::error_code& ec) noexcept;

/// What `conclave log` was asked.
struct log_command_options {
  std::string path;    ///< --log FILE (or the config's "log"); empty: the default
  std::size_t n = 20;  ///< runs to show (-n)
  bool json = false;   ///< the entries as one JSON array instead of the table
};

/// `conclave log`: prints the recent runs; returns the exit status (0, or 1 when the log
/// cannot be read).
int run_log_command(const log_command_options& o);

}  // namespace conclave::cli
