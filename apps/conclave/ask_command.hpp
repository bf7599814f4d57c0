// `conclave ask`: heavy mode. Decompose, run the agents with a live view, synthesize, print
// the answer (or the run report as JSON, or the event stream as JSON lines).
#pragma once

#include "settings.hpp"

namespace conclave::cli {

/// Exit status: 0 answered (possibly degraded), 1 the run failed, 130 interrupted
/// (SIGINT/SIGTERM: what finished is printed).
int run_ask(const ask_settings& s);

}  // namespace conclave::cli
