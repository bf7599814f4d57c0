// `conclave ask`: heavy mode at the terminal (a live view on stderr, the answer streamed to
// stdout), or as JSON for tools (--json, --events jsonl).
#pragma once

#include "process_setup.hpp"
#include "settings.hpp"

#include <conclave/engine/ask.hpp>

namespace conclave::cli {

/// The engine's options for a run, from the settings.
ask_options options_from(const ask_settings& s);

/// Runs the ask; returns the exit status (0 answered, 1 failed or the answer could not be
/// written, 130 interrupted).
int run_ask(const ask_settings& s, const standard_fds& fds);

}  // namespace conclave::cli
