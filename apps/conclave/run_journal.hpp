// The run journal as `ask`, `run` and `resume` use it: what shapes a run as one canonical JSON
// object (written when the run begins, compared when it resumes), and the journal's part in a
// run: begun before it, an observer writing its steps, finished with its report. The journal
// never fails a run: a journal that cannot be opened or written is a warning.
#pragma once

#include "settings.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/journal/journal.hpp>

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::cli {

/// Everything that shapes a run's steps, keys sorted: the shape (agents, max_agents, combine,
/// verify, verify_rounds), the models (model, decompose_model, synth_model, agent_models,
/// fallback_models, aliases), the default provider and its base URL as resolved now (never a
/// key), max_output_tokens, temperature, system, the budget and prices, the tools (names,
/// roots, mcp, max_turns, max_tool_calls) and the timeouts (in ms). One function both writes
/// the journal's options and checks them on resume.
boost::json::object run_options(const ask_settings& s);

/// run_options(s) as its canonical text (what the journal holds).
std::string run_options_json(const ask_settings& s);

/// Sets the fields of `s` that run_options recorded, except what comes from the environment
/// and the config now (provider, base URL, aliases, prices): the resumed run is asked as the
/// first was. Throws usage_error naming a field of the wrong type.
void apply_run_options(const boost::json::object& recorded, ask_settings& s);

/// One line per key whose value differs: "provider was mock, now openai".
std::vector<std::string> options_changes(const boost::json::object& was,
                                         const boost::json::object& now);

/// The journal's file: --journal FILE (or the config's "journal"), else the per-user default;
/// empty when none is usable.
std::string journal_path(const ask_settings& s);

/// `conclave resume ID`, with --journal FILE when the journal is not the default one.
std::string resume_command(const std::string& path, const std::string& run_id);

/// One run's journaling. Inactive (every member a no-op) when journaling is off or the
/// journal could not be opened or begun.
class run_journal {
 public:
  run_journal() = default;

  /// Begins a new run (kind "ask", or "run" for a given plan) in the settings' journal;
  /// anything that goes wrong becomes `warning` and an inactive journal.
  static run_journal begin(const ask_settings& s, std::string& warning);

  /// Continues run `id` of `j` (reopened by the caller): the steps it writes join the ones
  /// already recorded.
  static run_journal resumed(std::shared_ptr<journal::journal> j, std::string id);

  bool active() const noexcept { return j_ != nullptr; }
  const std::string& id() const noexcept { return id_; }

  /// Adds the observer that writes the run's steps.
  void observe(ask_options& opts);

  /// Ends the run: "succeeded", "cancelled" (interrupted) or "failed", and the report. Returns
  /// a warning when the journal could not take a step or the end; empty otherwise.
  std::string finish(const boost::system::error_code& ec, bool interrupted,
                     const boost::json::object& report) noexcept;

  /// How to resume it (see resume_command).
  std::string resume_hint() const;

 private:
  std::shared_ptr<journal::journal> j_;
  std::string id_;
  std::shared_ptr<journal::observer_status> status_;
};

}  // namespace conclave::cli
