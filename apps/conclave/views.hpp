// How a run looks at a terminal: a live table redrawn in place on a TTY, plain progress lines
// otherwise. Both are observers of the engine's event stream, and draw on stderr so the
// answer on stdout stays clean.
#pragma once

#include <conclave/engine/progress.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace conclave::cli {

class progress_view {
 public:
  virtual ~progress_view() = default;
  virtual void on_event(const event& e, const progress_map& p) = 0;
  /// Called periodically while the run is going, so elapsed times move.
  virtual void tick() {}
  /// The run is over: leave the screen tidy.
  virtual void close() {}
};

/// One row per agent (sub-question, state, elapsed, tokens, attempts) and an overall line,
/// redrawn in place with ANSI escapes.
class live_view final : public progress_view {
 public:
  live_view(std::FILE* out, std::string note);
  void on_event(const event& e, const progress_map& p) override;
  void tick() override;
  void close() override;

 private:
  void draw(bool force);

  static constexpr std::chrono::milliseconds redraw_interval{50};

  std::FILE* out_;
  std::string note_;
  progress_map snapshot_;  // the view's copy as of the last redraw; tick() redraws it
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  int lines_drawn_ = 0;
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
