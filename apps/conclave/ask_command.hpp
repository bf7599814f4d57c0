// `conclave ask`: heavy mode at the terminal (a live view on stderr, the answer streamed to
// stdout), or as JSON for tools (--json, --events jsonl).
#pragma once

#include "process_setup.hpp"
#include "run_journal.hpp"
#include "settings.hpp"

#include <conclave/engine/ask.hpp>

#include <memory>

namespace conclave::cli {

/// The engine's options for a run, from the settings.
ask_options options_from(const ask_settings& s);

/// A journaled run taken up again (`conclave resume`): its journal, and the steps it recorded.
struct resume_point {
  run_journal journal;                         ///< the run, reopened
  std::shared_ptr<const recorded_run> replay;  ///< what it did already
};

/// Runs the ask; returns the exit status (0 answered, 1 failed or the answer could not be
/// written, 130 interrupted). The run is journaled (s.journal), or with `resume` continues a
/// journaled one: its finished steps replayed, only the rest run.
int run_ask(const ask_settings& s, const standard_fds& fds, resume_point* resume = nullptr);

}  // namespace conclave::cli
