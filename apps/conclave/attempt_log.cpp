// The attempt log's entry and its file: what one run appends, and reading the last ones back.
// The table and the CLI's two ends are in attempt_log_table.cpp.
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

}  // namespace conclave::cli
