// The run report as a fold of the run's events: the engine builds the report it returns this
// way, and so can anyone holding the event stream (a journal, `--events jsonl` lines read back,
// a remote worker). Pure: apply events in order, read the report.
#pragma once

#include <conclave/engine/events.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/engine/report.hpp>

#include <string>
#include <string_view>

namespace conclave {

class report_fold {
 public:
  /// decomposed: the plan part and one entry per subtask; an agent's last event or `judged`:
  /// that agent's entry; tool_call_finished of a write: conflicts; combined: the answer;
  /// finished: the totals. Events without their payload change nothing but what they imply.
  void apply(const event& e);

  const run_report& report() const noexcept { return report_; }
  run_report take() noexcept { return std::move(report_); }

 private:
  run_report report_;
  write_tracker writes_;
};

/// Reads a line written by to_json_line() back into an event, payloads included. False, with
/// `why`, for a line that is not one (the report line of `--events jsonl` is not an event).
bool from_json_line(std::string_view line, event& out, std::string& why);

}  // namespace conclave
