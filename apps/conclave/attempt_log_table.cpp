// The attempt log shown: the table of recent runs, and the CLI's two ends (a run recorded,
// `conclave log`). The entry and the file are in attempt_log.cpp.
#include "attempt_log.hpp"
#include "terminal_text.hpp"

#include <conclave/engine/json_text.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/array.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sys/ioctl.h>
#include <unistd.h>

namespace json = boost::json;

namespace conclave::cli {

namespace {

std::optional<double> number_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::string text_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string printf_text(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

// "2026-11-26 05:55", from the line's RFC 3339 UTC time, shown in local time or UTC.
std::string when_cell(const json::object& e, bool utc) {
  const std::string when = text_at(e, "when");
  std::tm tm{};
  if (std::sscanf(when.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return "?";
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  if (!utc) {
    const std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1) || !::localtime_r(&t, &tm)) return "?";
  }
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) == 0) return "?";
  return buf;
}

std::string wall_cell(const json::object& e) {
  const auto w = number_at(e, "wall_ms");
  if (!w || !(*w >= 0)) return "?";
  const double s = *w / 1000;
  return printf_text(s < 100 ? "%.2fs" : s < 1e6 ? "%.0fs" : "%.3gs", s);
}

std::size_t subtask_count(const json::object& e) {
  const auto* s = e.if_contains("subtasks");
  return s && s->is_array() ? s->get_array().size() : 0;
}

std::string speedup_cell(const json::object& e) {
  if (subtask_count(e) <= 1) return "-";  // one agent has nothing to be faster than
  const auto x = number_at(e, "speedup");
  if (!x || !(*x >= 0) || *x > 1e6) return "?";
  return printf_text("%.1fx", *x);
}

std::string agents_cell(const json::object& e) {
  const auto* s = e.if_contains("subtasks");
  if (!s || !s->is_array()) return "?";
  std::size_t ok = 0;
  for (const auto& t : s->get_array()) {
    if (t.is_object() && text_at(t.get_object(), "status") == "ok") ++ok;
  }
  return std::to_string(ok) + "/" + std::to_string(s->get_array().size());
}

std::string tokens_cell(const json::object& e) {
  const auto* t = e.if_contains("tokens");
  if (!t || !t->is_object()) return "?";
  const auto n = number_at(t->get_object(), "total");
  if (!n || !(*n >= 0) || *n > 1e18) return "?";
  if (*n < 1e4) return printf_text("%.0f", *n);
  if (*n < 1e6) return printf_text("%.1fk", *n / 1e3);
  return printf_text("%.1fM", *n / 1e6);
}

std::string cost_cell(const json::object& e) {
  const auto* c = e.if_contains("cost");
  if (c && c->is_null()) return "-";
  const auto x = number_at(e, "cost");
  if (!x || !(*x >= 0) || *x > 1e9) return "?";
  return printf_text(*x < 0.01 ? "$%.4f" : *x < 1 ? "$%.3f" : "$%.2f", *x);
}

// A cell from the file, made fit for one terminal line and `columns` wide at most.
std::string safe_cell(std::string_view s, int columns) {
  return text::fit_columns(one_line(s, columns), columns);
}

std::string padded(const std::string& s, int columns, bool right) {
  const int fill = std::max(0, columns - text::display_width(s));
  return right ? std::string(static_cast<std::size_t>(fill), ' ') + s
               : s + std::string(static_cast<std::size_t>(fill), ' ');
}

}  // namespace

std::string format_log_table(const std::vector<json::object>& entries, int width, bool utc) {
  constexpr int max_outcome = 18;
  struct row {
    std::string cells[8];
  };
  std::vector<row> rows;
  rows.push_back({{"when", "wall", "speedup", "agents", "tokens", "cost", "outcome", "question"}});
  for (const auto& e : entries) {
    const std::string outcome = text_at(e, "outcome");
    rows.push_back(
        {{when_cell(e, utc), wall_cell(e), speedup_cell(e), agents_cell(e), tokens_cell(e),
          cost_cell(e), outcome.empty() ? "?" : safe_cell(outcome, max_outcome), ""}});
  }
  int widths[7] = {};
  for (const auto& r : rows) {
    for (int c = 0; c < 7; ++c) widths[c] = std::max(widths[c], text::display_width(r.cells[c]));
  }
  int used = 0;
  for (int w : widths) used += w + 2;
  const int question_columns = std::max(10, width - used);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    rows[i].cells[7] = safe_cell(text_at(entries[i - 1], "question"), question_columns);
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (int c = 0; c < 7; ++c) {
      const bool right = c >= 1 && c <= 5;  // the numbers
      line += padded(r.cells[c], widths[c], right) + "  ";
    }
    line += r.cells[7];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// ---- the CLI's two ends ----
namespace {

void warn(const std::string& message) {
  const std::string line = text::for_terminal(message, false) + "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

int output_width() {
  struct winsize w {};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) {
    return w.ws_col;
  }
  const std::string columns = process_env("COLUMNS");
  const int n = std::atoi(columns.c_str());
  return n >= 20 && n <= 10'000 ? n : 120;
}

}  // namespace

void record_run(const std::string& path, std::string_view command, const run_report& r,
                const boost::system::error_code& ec) noexcept {
  try {
    std::string where = path;
    if (where.empty()) {
      const auto found = default_log_path(process_env);
      if (!found) {
        warn(
            "conclave: warning: this run is not logged: neither XDG_STATE_HOME nor HOME is an "
            "absolute path (use --log FILE or --no-log)");
        return;
      }
      where = *found;
      // Under HOME only when HOME is there: a log must not conjure a home directory (a test
      // harness's HOME=/nonexistent, a service account's missing home).
      std::error_code fs_error;
      const std::string home = process_env("HOME");
      if (!where.starts_with(home + "/") || home.empty()) {
        // XDG_STATE_HOME: created as the spec allows
      } else if (!std::filesystem::is_directory(home, fs_error)) {
        warn("conclave: warning: this run is not logged: HOME (" + home +
             ") is not a directory (use --log FILE or --no-log)");
        return;
      }
    }
    const std::string failed =
        append_log(where, log_entry(r, ec, command, std::chrono::system_clock::now()));
    if (!failed.empty()) warn("conclave: warning: this run is not logged: " + failed);
  } catch (const std::exception& e) {  // out of memory: the run itself is what matters
    warn(std::string("conclave: warning: this run is not logged: ") + e.what());
  }
}

int run_log_command(const log_command_options& o) {
  std::string path = o.path;
  if (path.empty()) {
    const auto found = default_log_path(process_env);
    if (!found) {
      warn(
          "conclave: no log to read: neither XDG_STATE_HOME nor HOME is an absolute path (use "
          "--log FILE)");
      return 1;
    }
    path = *found;
  }
  const log_read got = read_recent(path, o.n);
  if (!got.error.empty()) {
    warn("conclave: " + got.error);
    return 1;
  }
  if (got.skipped > 0) {
    warn("conclave: note: " + std::to_string(got.skipped) + " malformed line(s) in " + path +
         " skipped");
  }
  std::string text;
  if (o.json) {
    text = to_plain_json(json::array(got.entries.begin(), got.entries.end())) + "\n";
    if (got.entries.empty()) warn("no runs logged yet in " + path);
  } else if (got.entries.empty()) {
    text = text::for_terminal("no runs logged yet in " + path, false) + "\n";
  } else {
    text = format_log_table(got.entries, output_width());
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
  if (!written || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "conclave: the log could not be written to stdout: %s\n",
                 std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace conclave::cli
