#include "views.hpp"

#include "terminal_text.hpp"

#include <conclave/engine/text.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <numeric>
#include <string_view>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>

namespace conclave::cli {
namespace {

bool term_is_dumb() {
  const char* term = std::getenv("TERM");
  return term != nullptr && std::string_view(term) == "dumb";
}

// What a row says about its agent: the engine's states, with a completed agent's stop reason
// told apart (a cut or refused answer is not a plain "done").
enum class label {
  done,
  truncated,
  refused,
  running,
  queued,
  failed,
  timed_out,
  cancelled,
  stopped,
  skipped
};
constexpr std::size_t label_count = 10;

label label_of(const agent_progress& a) {
  switch (a.state) {
    case agent_state::queued:
      return label::queued;
    case agent_state::running:
      return label::running;
    case agent_state::completed:
      if (a.stop == stop_reason::length) return label::truncated;
      if (a.stop == stop_reason::content_filter) return label::refused;
      return label::done;
    case agent_state::failed:
      return label::failed;
    case agent_state::timed_out:
      return label::timed_out;
    case agent_state::cancelled:
      return label::cancelled;
    case agent_state::stopped:
      return label::stopped;
    case agent_state::skipped:
      return label::skipped;
  }
  return label::failed;
}

const char* word(label l) {
  switch (l) {
    case label::done:
      return "done";
    case label::truncated:
      return "truncated";
    case label::refused:
      return "refused";
    case label::running:
      return "running";
    case label::queued:
      return "queued";
    case label::failed:
      return "failed";
    case label::timed_out:
      return "timed out";
    case label::cancelled:
      return "cancelled";
    case label::stopped:
      return "stopped";
    case label::skipped:
      return "skipped";
  }
  return "?";
}

const char* colour(label l) {
  switch (l) {
    case label::queued:
      return "\x1b[2m";
    case label::running:
      return "\x1b[36m";
    case label::done:
      return "\x1b[32m";
    case label::truncated:
    case label::refused:
    case label::cancelled:
    case label::stopped:
    case label::skipped:
      return "\x1b[33m";
    case label::failed:
    case label::timed_out:
      return "\x1b[31m";
  }
  return "";
}

constexpr const char* bold = "\x1b[1m";
constexpr const char* dim = "\x1b[2m";
constexpr const char* reset = "\x1b[0m";

// Which rows to keep when not all fit: running agents first, longest-running first (the
// stragglers are what the run waits on); then finished agents that went wrong (failed, timed
// out, cancelled, truncated, refused), most recent first, because they need the user's eye;
// then plain completions, most recent first (the run's pulse); then the queue in order (what
// starts next). Lower sorts first.
int rank(label l) {
  switch (l) {
    case label::running:
      return 0;
    case label::done:
      return 2;
    case label::queued:
      return 3;
    default:
      return 1;
  }
}

std::size_t digits(std::size_t n) {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

struct styled_line {
  std::string text;        // already cut to the terminal's width
  const char* style = "";  // SGR to wrap it in when colouring
};

// The `room` agents to draw when not all fit (see rank), in agent order so rows keep their
// places between frames. O(N log room): only the rows that will be drawn are ordered.
std::vector<std::size_t> rows_to_show(const progress_map& map, std::size_t room) {
  const auto& agents = map.agents();
  std::vector<std::size_t> order(agents.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto before = [&agents](std::size_t x, std::size_t y) {
    const agent_progress& a = agents[x];
    const agent_progress& b = agents[y];
    const int ra = rank(label_of(a));
    const int rb = rank(label_of(b));
    if (ra != rb) return ra < rb;
    if (ra == 0 && a.started_at != b.started_at) return a.started_at < b.started_at;
    if ((ra == 1 || ra == 2) && a.finished_at != b.finished_at) {
      return a.finished_at > b.finished_at;
    }
    return x < y;
  };
  room = std::min(room, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(room), order.end(),
                    before);
  order.resize(room);
  std::sort(order.begin(), order.end());
  return order;
}

std::string agent_row(std::size_t i, const agent_progress& a, int index_width,
                      std::chrono::microseconds elapsed, int usable, bool show_model) {
  const auto end = a.finished_at.count() > 0 ? a.finished_at : elapsed;
  const auto took = a.started_at.count() > 0
                        ? std::max(end - a.started_at, std::chrono::microseconds(0))
                        : std::chrono::microseconds(0);
  char head[128];
  std::snprintf(head, sizeof head, "%*zu %-9s %s %6lld tok %d try  ", index_width, i + 1,
                word(label_of(a)), seconds(took).c_str(), static_cast<long long>(a.tokens.total()),
                a.attempts);
  std::string line = head;
  // An agent with tools: its turn, and the tool it is running.
  if (a.max_turns > 1 && a.turn > 0) {
    line += "turn " + std::to_string(a.turn) + "/" + std::to_string(a.max_turns) + "  ";
  }
  if (show_model && !a.model.empty()) line += one_line(a.model, usable) + "  ";
  if (a.tools_running > 0) {
    line += "[" + one_line(a.last_tool, usable) +
            (a.tools_running > 1 ? " +" + std::to_string(a.tools_running - 1) : "") + "] ";
  }
  const bool went_wrong = a.state == agent_state::failed || a.state == agent_state::timed_out ||
                          a.state == agent_state::cancelled || a.state == agent_state::stopped;
  // The error first: the row's number already says which agent it is.
  if (went_wrong && !a.detail.empty()) line += "[" + one_line(a.detail, usable) + "] ";
  line += one_line(a.sub_question, usable);
  return text::fit_columns(line, usable);
}

// "…and 48 more: 30 done, 18 running": the agents without a row, by what their rows would say.
std::string summary_line(std::size_t hidden, const std::array<std::size_t, label_count>& counts) {
  std::string s =
      "\xE2\x80\xA6"
      "and " +
      std::to_string(hidden) + " more:";
  const char* sep = " ";
  for (const label l :
       {label::done, label::truncated, label::refused, label::running, label::queued, label::failed,
        label::timed_out, label::cancelled, label::stopped, label::skipped}) {
    const std::size_t k = counts[static_cast<std::size_t>(l)];
    if (k == 0) continue;
    s += sep + std::to_string(k) + " " + word(l);
    sep = ", ";
  }
  return s;
}

// "agents running  30/200 done  2.03s  4500 tokens  5 failed  3 truncated": what is always
// there first, then only the kinds of trouble that happened, so a narrow terminal cuts the
// latter (their rows and the summary line count them too).
std::string overall_line(const progress_map& map, const std::array<std::size_t, label_count>& total,
                         std::chrono::microseconds elapsed) {
  auto count = [&total](label l) { return total[static_cast<std::size_t>(l)]; };
  const std::size_t completed =
      count(label::done) + count(label::truncated) + count(label::refused);
  char time[32];
  std::snprintf(time, sizeof time, "%.2fs", static_cast<double>(elapsed.count()) / 1e6);
  std::string s = std::string(to_string(map.phase())) + "  " + std::to_string(completed) + "/" +
                  std::to_string(map.agents().size()) + " done  " + time + "  " +
                  std::to_string(map.tokens().total()) + " tokens";
  const std::pair<std::size_t, const char*> troubles[] = {
      {count(label::failed) + count(label::timed_out), "failed"},
      {count(label::cancelled), "cancelled"},
      {count(label::stopped), "stopped"},
      {count(label::skipped), "skipped"},
      {count(label::truncated), "truncated"},
      {count(label::refused), "refused"}};
  for (const auto& [k, what] : troubles) {
    if (k > 0) s += "  " + std::to_string(k) + " " + what;
  }
  if (const auto conflicts = map.conflicts().size(); conflicts > 0)
    s += "  " + std::to_string(conflicts) + (conflicts == 1 ? " conflict" : " conflicts");
  return s;
}

// One frame: a row per agent that fits, a summary of the rest, the overall line. Never more
// lines than the terminal has rows less one, never a line wider than its columns less one.
std::vector<styled_line> frame_lines(const progress_map& map, terminal_size size,
                                     std::chrono::microseconds elapsed, bool show_models) {
  // The last column stays free: a line that fills it leaves the cursor in the pending-wrap
  // state, where terminals disagree on what the next newline does.
  const int usable = std::max(1, size.columns - 1);
  // The row under the frame holds the cursor: a frame of `rows` lines would scroll its top line
  // off screen, out of reach of the next redraw's cursor-up.
  const std::size_t max_lines = static_cast<std::size_t>(std::max(1, size.rows - 1));
  const auto& agents = map.agents();
  const std::size_t n = agents.size();

  // One pass for the counts (integers only); rows are formatted only for what fits.
  std::array<std::size_t, label_count> total{};
  for (const auto& a : agents) ++total[static_cast<std::size_t>(label_of(a))];

  std::vector<std::size_t> shown;
  if (n + 1 <= max_lines) {
    shown.resize(n);
    std::iota(shown.begin(), shown.end(), std::size_t{0});
  } else if (max_lines >= 2) {
    shown = rows_to_show(map, max_lines - 2);  // room for the summary and the overall line
  }

  std::vector<styled_line> lines;
  lines.reserve(shown.size() + 2);
  const int index_width = static_cast<int>(digits(n));
  std::array<std::size_t, label_count> rest = total;
  for (const std::size_t i : shown) {
    const label l = label_of(agents[i]);
    --rest[static_cast<std::size_t>(l)];
    lines.push_back(
        {agent_row(i, agents[i], index_width, elapsed, usable, show_models), colour(l)});
  }
  if (shown.size() < n && max_lines >= 2) {
    lines.push_back({text::fit_columns(summary_line(n - shown.size(), rest), usable), dim});
  }
  lines.push_back({text::fit_columns(overall_line(map, total, elapsed), usable), bold});
  return lines;
}

}  // namespace

bool color_wanted(const std::string& mode, bool is_tty) {
  if (mode == "never") return false;
  if (mode == "always") return true;
  const char* no_color = std::getenv("NO_COLOR");  // https://no-color.org: set and non-empty
  return is_tty && (no_color == nullptr || *no_color == '\0') && !term_is_dumb();
}

bool live_view_possible(bool stderr_is_tty) { return stderr_is_tty && !term_is_dumb(); }

live_view::live_view(std::FILE* out, std::string note, view_options opts)
    : out_(out), opts_(std::move(opts)) {
  std::fputs("\x1b[?25l", out_);  // hide the cursor while redrawing
  if (!note.empty()) std::fprintf(out_, "conclave: %s\n", one_line(note).c_str());
  std::fflush(out_);
}

live_view::~live_view() {
  // An early exit must not leave the user's terminal without a cursor.
  if (!closed_) {
    std::fputs("\x1b[?25h", out_);
    std::fflush(out_);
  }
}

void live_view::on_event(const event& e, const progress_map&) {
  map_.apply(e);
  // Rows name their model only when the agents' models differ (--agent-models).
  if (e.kind == event_kind::started && !e.model.empty() && !mixed_models_) {
    if (first_model_.empty()) first_model_ = e.model;
    mixed_models_ = e.model != first_model_;
  }
  // Agent events (streamed deltas above all) can come by the thousand per second: redraw at
  // most every redraw_interval for them, and at once when the run's phase moves.
  draw(!e.agent.has_value());
}

void live_view::tick() { draw(false); }

terminal_size live_view::current_size() const {
  if (opts_.size) return opts_.size();
  winsize w{};
  if (ioctl(fileno(out_), TIOCGWINSZ, &w) == 0 && w.ws_col > 0 && w.ws_row > 0) {
    return {w.ws_col, w.ws_row};
  }
  return {};
}

void live_view::draw(bool force) {
  if (closed_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < opts_.redraw_interval) return;
  last_draw_ = now;

  const terminal_size size = current_size();
  const int columns = std::max(1, size.columns);
  const auto elapsed = std::max(std::chrono::duration_cast<std::chrono::microseconds>(now - start_),
                                map_.last_event_at());
  const std::vector<styled_line> lines = frame_lines(map_, size, elapsed, mixed_models_);

  std::string frame;
  if (!drawn_widths_.empty()) {
    // Back to the top of the last frame. Its lines fitted the width it was drawn at; if the
    // terminal has narrowed since, a terminal that reflows has wrapped each into several rows,
    // so count the rows they take now. (A terminal that does not reflow shows each in one row,
    // and going up too far only clears a few lines of older output: better than leaving
    // stale halves of rows on screen.)
    int up = 0;
    for (const int w : drawn_widths_) up += std::max(1, (w + columns - 1) / columns);
    frame += "\x1b[" + std::to_string(up) + "F";
  }
  drawn_widths_.clear();
  for (const auto& l : lines) {
    if (opts_.color) frame += l.style;
    frame += l.text;
    if (opts_.color) frame += reset;
    frame += "\x1b[K\n";  // clear what an older, longer line left to the right
    drawn_widths_.push_back(text::display_width(l.text));
  }
  frame += "\x1b[J";  // and whatever an older, taller frame left below
  std::fputs(frame.c_str(), out_);
  std::fflush(out_);
}

void live_view::close() {
  if (closed_) return;
  draw(true);
  closed_ = true;
  std::fputs("\x1b[?25h", out_);  // the cursor comes back
  std::fflush(out_);
}

}  // namespace conclave::cli
