// How a run looks at a terminal: a live table redrawn in place on a TTY, plain progress lines
// otherwise. Both are observers of the engine's event stream, and draw on stderr so the
// answer on stdout stays clean. Text that came from a model or provider (sub-questions,
// errors) is neutralised before it reaches the terminal.
#pragma once

#include <conclave/engine/progress.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace conclave::cli {

/// Whether to colour output. `mode` is "never" (false), "always" (true) or "auto" (anything
/// else counts as auto): colour when `is_tty`, NO_COLOR is unset or empty, and TERM is not
/// "dumb".
bool color_wanted(const std::string& mode, bool is_tty);

/// Whether the live view can be used: stderr is a TTY and TERM is not "dumb" (a dumb terminal
/// does not understand cursor movement, so the redraws would pile up as garbage).
bool live_view_possible(bool stderr_is_tty);

struct terminal_size {
  int columns = 80;  ///< display columns per line
  int rows = 24;     ///< lines on the screen
};

struct view_options {
  /// Colour rows by state with SGR escapes; false: no colour escapes at all (see color_wanted).
  bool color = true;
  /// The terminal's size, asked at every draw; unset: the output's TTY (TIOCGWINSZ), else 80x24.
  /// Tests set it to draw at a fixed (or changing) size without a TTY.
  std::function<terminal_size()> size;
  /// Shortest time between two redraws for agent events and ticks; 0: redraw on every event.
  std::chrono::milliseconds redraw_interval{50};
};

class progress_view {
 public:
  virtual ~progress_view() = default;
  virtual void on_event(const event& e, const progress_map& p) = 0;
  /// Called periodically while the run is going, so elapsed times move.
  virtual void tick() {}
  /// The run is over: leave the screen tidy.
  virtual void close() {}
};

/// One row per agent (state, elapsed, tokens, attempts, sub-question) and an overall line,
/// redrawn in place with ANSI escapes. Never taller than the terminal: when the agents do not
/// fit, the most telling rows are shown and one line sums up the rest.
class live_view final : public progress_view {
 public:
  /// Hides the cursor and prints `note` (if any) above the table.
  live_view(std::FILE* out, std::string note, view_options opts = {});
  ~live_view() override;
  live_view(const live_view&) = delete;
  live_view& operator=(const live_view&) = delete;
  void on_event(const event& e, const progress_map& p) override;
  void tick() override;
  void close() override;

 private:
  void draw(bool force);
  terminal_size current_size() const;

  std::FILE* out_;
  view_options opts_;
  /// The view's own picture, fed the same events as the engine's: updating it is O(1) per
  /// event, where copying the engine's map at each redraw would copy every sub-question.
  progress_map map_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  std::vector<int> drawn_widths_;  ///< display width of each line of the last frame
  std::string first_model_;        ///< the model of the first agent call seen
  bool mixed_models_ = false;      ///< agents called different models: rows name theirs
  bool closed_ = false;
};

/// A line per lifecycle event (progress deltas are skipped): for logs and pipes.
class line_view final : public progress_view {
 public:
  line_view(std::FILE* out, std::string note);
  void on_event(const event& e, const progress_map& p) override;

 private:
  std::FILE* out_;
};

}  // namespace conclave::cli
