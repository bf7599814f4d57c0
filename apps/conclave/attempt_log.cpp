// The attempt log in one place (around 440 lines): the entry, the file (append, read back), the
// table and the two CLI ends share their helpers and change together.
#include "attempt_log.hpp"

#include "terminal_text.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/engine/json_text.hpp>
#include <conclave/engine/text.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace json = boost::json;

namespace conclave::cli {
namespace {

double ms(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

std::string why(const std::string& what, const std::string& path, int error_number) {
  return "cannot " + what + " " + path + ": " + std::strerror(error_number);
}

// Each missing directory above the log, created 0700 (a state directory is the user's alone);
// directories that already exist are left as they are. Returns what failed, or empty.
std::string make_parents(const std::filesystem::path& dir) {
  std::filesystem::path at;
  for (const auto& part : dir) {
    at /= part;
    if (::mkdir(at.c_str(), 0700) == 0) continue;
    const int e = errno;
    struct stat st;
    if (::stat(at.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return at.string() + " is not a directory";
    }
    return why("create the directory", at.string(), e);
  }
  return {};
}

}  // namespace

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto since = floor<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(since / 1000 - (since % 1000 < 0));
  const int milli = static_cast<int>((since % 1000 + 1000) % 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the format could meet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
  return buf;
}

json::object plan_summary(const run_report& r) {
  // Depth: the longest chain of dependencies, in subtasks (1 with none). The report came from a
  // validated plan, but a cycle here would only mean a longest chain counted once per subtask.
  std::map<std::string, std::size_t, std::less<>> index;
  std::size_t edges = 0;
  for (const auto& a : r.agents) {
    index.emplace(a.id, a.index);
    edges += a.depends_on.size();
  }
  std::vector<std::size_t> depth(r.agents.size(), 0);  // 0: not known yet
  std::function<std::size_t(std::size_t, std::size_t)> depth_of = [&](std::size_t i,
                                                                      std::size_t guard) {
    if (depth[i] != 0 || guard > r.agents.size()) return std::max<std::size_t>(depth[i], 1);
    std::size_t d = 1;
    for (const auto& dep : r.agents[i].depends_on) {
      if (auto it = index.find(dep); it != index.end() && it->second < depth.size())
        d = std::max(d, 1 + depth_of(it->second, guard + 1));
    }
    return depth[i] = d;
  };
  std::size_t deepest = r.agents.empty() ? 0 : 1;
  for (std::size_t i = 0; i < r.agents.size(); ++i) deepest = std::max(deepest, depth_of(i, 0));
  return {{"subtasks", r.agents.size()}, {"edges", edges}, {"depth", deepest}};
}

json::object log_entry(const run_report& r, const boost::system::error_code& ec,
                       std::string_view command, std::chrono::system_clock::time_point when) {
  json::array subtasks;
  subtasks.reserve(r.agents.size());
  for (const auto& a : r.agents) {
    subtasks.push_back(json::object{{"index", a.index + 1},
                                    {"id", a.id},
                                    {"status", to_string(a.status)},
                                    {"wall_ms", ms(a.latency)},
                                    {"attempts", a.attempts},
                                    {"tokens", a.tokens.total()}});
  }
  // Cut before repairing (a question may be megabytes), and again after: a repaired byte
  // takes three.
  const std::string question =
      text::to_valid_utf8(text::utf8_prefix(r.question, log_question_bytes));
  const usage total = r.total_tokens();
  return {{"v", log_entry_version},
          {"when", rfc3339_utc(when)},
          {"command", command},
          {"question", text::utf8_prefix(question, log_question_bytes)},
          {"plan", plan_summary(r)},
          {"subtasks", std::move(subtasks)},
          {"wall_ms", ms(r.wall)},
          {"agent_time_sum_ms", ms(r.agent_time_sum)},
          {"speedup", r.speedup()},
          {"tokens", json::object{{"input", total.prompt_tokens},
                                  {"output", total.completion_tokens},
                                  {"total", total.total()}}},
          {"cost", r.priced ? json::value(r.cost) : json::value(nullptr)},
          {"outcome", ec           ? error_id(ec)
                      : r.degraded ? "degraded"
                                   : "ok"}};
}

std::optional<std::string> default_log_path(const env_lookup& env) {
  // The spec's rule: a relative path in these variables is invalid and ignored.
  auto base = [&](const char* name) -> std::optional<std::string> {
    std::string v = env(name);
    if (v.empty() || v.front() != '/') return std::nullopt;
    while (v.size() > 1 && v.back() == '/') v.pop_back();
    if (v == "/") v.clear();
    return v;
  };
  if (auto state = base("XDG_STATE_HOME")) return *state + "/conclave/runs.jsonl";
  if (auto home = base("HOME")) return *home + "/.local/state/conclave/runs.jsonl";
  return std::nullopt;
}

std::string process_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string append_log(const std::string& path, const json::object& entry) {
  if (path.empty()) return "no log file named";
  const std::string line = to_plain_json(entry) + "\n";
  if (auto failed = make_parents(std::filesystem::path(path).parent_path()); !failed.empty()) {
    return "cannot write the log " + path + ": " + failed;
  }
  // O_NOFOLLOW: a link planted where the log goes must not redirect the write. O_NONBLOCK: a
  // FIFO there must not hang the run (it is refused below; a regular file ignores the flag).
  const int fd =
      ::open(path.c_str(),
             O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP) return "cannot write the log " + path + ": it is a symbolic link";
    // A FIFO or socket with no reader (O_NONBLOCK): not a log either.
    if (e == ENXIO) return "cannot write the log " + path + ": not a regular file";
    return why("write the log", path, e);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return "cannot write the log " + path + ": not a regular file";
  }
  // One write() for the line: with O_APPEND, lines from concurrent runs do not interleave.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : EIO;
      ::close(fd);
      return why("write the log", path, e);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return why("write the log", path, errno);
  return {};
}

log_read read_recent(const std::string& path, std::size_t n, std::size_t max_bytes) {
  log_read out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      out.missing = true;
    } else {
      out.error = why("read the log", path, errno);
    }
    return out;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    out.error = "cannot read the log " + path + ": not a regular file";
    return out;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t from = size > max_bytes ? size - max_bytes : 0;
  std::string buf(size - from, '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t r =
        ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(from + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      out.error = why("read the log", path, errno);
      ::close(fd);
      return out;
    }
    if (r == 0) break;  // cut short while we read
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  buf.resize(got);

  std::string_view rest(buf);
  if (from > 0) {  // started inside a line: it is not ours to judge
    const auto nl = rest.find('\n');
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  // From the end back, until n entries are found.
  while (!rest.empty() && out.entries.size() < n) {
    if (rest.back() == '\n') rest.remove_suffix(1);
    const auto nl = rest.rfind('\n');
    const std::string_view line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(0, nl + 1);
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      ++out.skipped;
      continue;
    }
    out.entries.push_back(std::move(v.get_object()));
  }
  std::reverse(out.entries.begin(), out.entries.end());
  return out;
}

// ---- the table ----
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
