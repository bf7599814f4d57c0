// `conclave resume RUN_ID`: a journaled `ask` or `run` that was killed, interrupted or failed
// is run again from its journal: its settings come back from the recorded options (no flags to
// repeat), its finished agents are replayed, only the missing ones run. A run whose options
// changed since (another provider, base URL, model...) is refused, naming each change.
#pragma once

#include "process_setup.hpp"
#include "settings.hpp"

#include <string>

namespace CLI {
class App;
}

namespace conclave::cli {

struct resume_options {
  std::string run_id;  ///< the run; empty: list the unfinished runs (or take the newest, --last)
  bool last = false;   ///< resume the newest unfinished run
};

/// Declares `conclave resume` on `app`: its output flags and --journal set `s`, the rest `o`.
CLI::App* add_resume(CLI::App& app, ask_settings& s, resume_options& o);

/// --journal FILE and --no-journal, for each command that runs something (ask, run).
void add_journal_flags(CLI::App& cmd, ask_settings& s);

/// `conclave resume`, with `s` holding the config, environment and resume's own flags.
/// Returns the exit status: the run's (0, 1, 130), 0 for a list or an already finished run
/// (its answer printed), 2 for an unknown run, changed options or a corrupt journal.
int run_resume(ask_settings& s, const resume_options& o, const standard_fds& fds);

}  // namespace conclave::cli
