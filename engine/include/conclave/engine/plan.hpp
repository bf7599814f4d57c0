// A plan: the subtasks of a run as a dependency graph (which subtask needs which answers,
// which ones may not run together), how their answers are combined, and whether a verify stage
// follows. Pure logic, no I/O: validate() checks a plan, plan_state decides what may start,
// parse_plan() and to_json() read and write the plan file. Not thread-safe: one owner each.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave {

/// How the subtasks' answers become one: merged by a synthesizer, voted on, or one selected.
enum class combine_mode { synthesize, vote, select };

/// "synthesize", "vote" or "select".
const char* to_string(combine_mode m) noexcept;

/// The mode named `name` (exactly as to_string() spells it), or nothing.
std::optional<combine_mode> combine_mode_from(std::string_view name) noexcept;

/// One agent's piece of work.
struct subtask {
  std::string id;      ///< 1-64 characters of [A-Za-z0-9_.-], unique in the plan
  std::string prompt;  ///< what the agent is asked; not blank
  std::string role;    ///< optional: extra system text "You are <role>." for this agent
  std::string model;   ///< optional model reference; empty: the run's model
  std::optional<std::vector<std::string>> tools;  ///< unset: every tool of the run; []: none
  std::vector<std::string> depends_on;  ///< ids whose answers this one needs before it starts
  std::vector<std::string> exclusive;   ///< resource names; two holders never run at once
  int priority = 0;                     ///< higher starts first among ready subtasks
  bool optional = false;                ///< when it fails (or is skipped), its dependents still run

  friend bool operator==(const subtask&, const subtask&) = default;
};

struct plan {
  std::string question;  ///< the question the run answers (may be empty in a plan file)
  std::vector<subtask> subtasks;
  combine_mode combine = combine_mode::synthesize;  ///< how the answers are combined
  bool verify = false;                              ///< run the optional verify stage
  int verify_rounds = 1;                            ///< verify rounds, 0..3

  friend bool operator==(const plan&, const plan&) = default;
};

/// The most subtasks a plan may have: heavy mode's widest fan-out (`conclave ask -n 10000`).
inline constexpr std::size_t max_plan_subtasks = 10'000;
/// The most subtasks a decomposer may choose on its own (ask_options::max_agents is capped here).
inline constexpr int max_dynamic_agents = 20;

/// Why a plan is invalid.
/// 1-64 characters of [A-Za-z0-9_.-] (ASCII, whatever the locale).
bool is_valid_subtask_id(std::string_view id) noexcept;

struct plan_problem {
  std::string message;  ///< one line naming the offending ids: "dependency cycle: a -> b -> a"
  std::vector<std::string> ids;  ///< the offending ids (may be empty, e.g. for an empty plan)
};

/// Nothing when `p` is valid. Otherwise the first class of problem found, in this order, with
/// every id of that class: no subtasks; more than `max_subtasks`; bad or empty ids; duplicate
/// ids; blank prompts; dependencies on unknown ids ("subtask b depends on unknown id: z", ids:
/// the subtasks holding them); a subtask depending on itself; dependency cycles (the message
/// names one cycle's path, ids are every subtask on a cycle); empty exclusive resource names;
/// verify_rounds outside 0..3. Linear in the number of subtasks and dependency edges.
std::optional<plan_problem> validate(const plan& p, std::size_t max_subtasks = max_plan_subtasks);

enum class subtask_status { waiting, running, succeeded, failed, skipped };

/// "waiting", "running", "ok", "failed" or "skipped".
const char* to_string(subtask_status s) noexcept;

/// What may start next, decided without I/O. Subtasks are named by their index in the plan.
/// The plan must be valid (see validate()); the state keeps its own copy of what it needs, so
/// the plan may go away. A valid plan never stalls: while something waits and nothing runs,
/// start_ready() returns at least one subtask.
class plan_state {
 public:
  /// At most `max_running` subtasks run at once (0 is taken as 1).
  plan_state(const plan& p, std::size_t max_running);

  /// The subtasks that may start now, marked running with their resources held: every
  /// dependency finished (succeeded, or failed or skipped but optional), none of its exclusive
  /// resources held by a running subtask, and a running slot free. Highest priority first,
  /// then plan order; a blocked high-priority subtask never blocks a startable lower one (so
  /// one that needs several resources may wait while lower ones take them in turn).
  /// Call again after every finish().
  std::vector<std::size_t> start_ready();

  /// Running subtask `i` ended; its resources are released. When it failed and is not
  /// optional, its dependents become skipped, transitively (stopping below an optional one),
  /// with a reason ("dependency a failed", "dependency b was skipped"); those are returned in
  /// plan order. Throws std::logic_error when `i` is not running.
  std::vector<std::size_t> finish(std::size_t i, bool succeeded);

  /// Marks every waiting subtask skipped with `reason` (the run was cancelled or is out of
  /// budget) and returns them in plan order. Running ones are left to finish.
  std::vector<std::size_t> skip_waiting(std::string_view reason);

  /// Nothing waiting or running.
  bool done() const noexcept { return waiting_ == 0 && running_ == 0; }
  std::size_t size() const noexcept { return status_.size(); }
  std::size_t running() const noexcept { return running_; }
  subtask_status status(std::size_t i) const { return status_.at(i); }
  /// Why subtask `i` was skipped; empty unless it was.
  const std::string& skip_reason(std::size_t i) const { return reason_.at(i); }
  /// Subtask `i`'s depends_on as indices (deduplicated, in the order given).
  const std::vector<std::size_t>& dependencies(std::size_t i) const { return deps_.at(i); }
  /// The subtasks that depend on `i` directly.
  const std::vector<std::size_t>& dependents(std::size_t i) const { return dependents_.at(i); }

 private:
  bool can_start(std::size_t i) const;
  bool satisfied(std::size_t dep) const;

  std::size_t max_running_;
  std::size_t running_ = 0;
  std::size_t waiting_ = 0;
  std::vector<std::string> ids_;
  std::vector<bool> optional_;
  std::vector<subtask_status> status_;
  std::vector<std::string> reason_;
  std::vector<std::vector<std::size_t>> deps_;
  std::vector<std::vector<std::size_t>> dependents_;
  std::vector<std::vector<std::size_t>> resources_;  ///< indices into held_
  std::vector<bool> held_;                           ///< per resource: a running subtask holds it
  std::vector<std::size_t> order_;                   ///< priority descending, then plan order
  std::size_t first_waiting_ = 0;  ///< order_ before this holds no waiting subtask (never again)
};

/// What parse_plan() read: a plan, or an error saying where the file is wrong.
struct plan_parse_result {
  std::optional<plan> value;
  std::string error;  ///< one line; empty when `value` is set
};

/// Parses a plan file:
///   {"question": "...", "subtasks": [{"id": "a", "prompt": "...", "depends_on": [],
///    "exclusive": [], "role": "...", "model": "...", "tools": [], "optional": false,
///    "priority": 0}], "combine": "synthesize", "verify": false, "verify_rounds": 1}
/// Only "subtasks" and each subtask's "id" and "prompt" are required. Text over `max_bytes`,
/// malformed JSON, wrong types and unknown keys are errors that say where
/// ("subtasks[2].depends_on: expected an array of strings", "unknown key \"dependson\" in
/// subtasks[0]"); quoted input is cut at 64 bytes. Does not validate the graph: call validate().
plan_parse_result parse_plan(std::string_view text, std::size_t max_bytes = 1 << 20);

/// The plan in the file format: parse_plan(serialize(to_json(p))).value == p. Every top-level
/// field is written; a subtask's fields past id, prompt and depends_on only when not default.
boost::json::object to_json(const plan& p);

}  // namespace conclave
