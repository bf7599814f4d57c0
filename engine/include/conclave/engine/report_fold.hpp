// The run report as a fold of the run's events: the engine builds the report it returns this
// way, and so can anyone holding the event stream (a journal, `--events jsonl` lines read back,
// a remote worker). Pure: apply events in order, read the report.
//
// The agents' entries are kept as their events carry them (shared, not copied) until the whole
// report is first asked for; then they become the report's vector. A run's N default entries
// made up front were 584 bytes of every agent's memory at the fan-out's peak, most of them
// still empty, and each finished agent's entry a copy of its event's.
#pragma once

#include <conclave/engine/events.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/engine/report.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace conclave {

class report_fold {
 public:
  /// decomposed: the plan part and one entry per subtask; an agent's last event or `judged`:
  /// that agent's entry; tool_call_finished of a write: conflicts; combined: the answer;
  /// finished: the totals. Events without their payload change nothing but what they imply.
  void apply(const event& e);

  /// The report so far, one entry per subtask (default entries for those not ended yet).
  /// The first call makes the agents' vector (later events then update it in place); like
  /// apply(), not to be called from two threads at once.
  const run_report& report() const;
  run_report take();

  /// Agent `i`'s entry as its last event had it, with no vector made; null if none came yet
  /// (once report() made the vector: its entry, a default one if none came).
  const agent_report* agent(std::size_t i) const noexcept;

 private:
  // The agents' vector, made from `arrived_` and `planned_` (see report()).
  void make_whole() const;

  mutable run_report report_;
  mutable bool whole_ = false;  // report_.agents is the agents' store
  mutable std::vector<std::shared_ptr<const agent_report>> arrived_;  // by index, until whole_
  std::size_t planned_ = 0;  // the count the last `decomposed` said
  write_tracker writes_;
};

/// Reads a line written by to_json_line() back into an event, payloads included. False, with
/// `why`, for a line that is not one (the report line of `--events jsonl` is not an event).
bool from_json_line(std::string_view line, event& out, std::string& why);

}  // namespace conclave
