// `conclave plan QUESTION` prints the decomposer's plan as JSON; `conclave run FILE` reads a
// plan back (written by hand or edited from `plan`) and run_ask runs it.
#pragma once

#include "process_setup.hpp"
#include "settings.hpp"

#include <conclave/engine/plan.hpp>

#include <string>

namespace conclave::cli {

/// The plan in `path` ('-': stdin), parsed and validated. Throws usage_error (exit 2) naming
/// what is wrong: the file, its JSON and where, or the offending subtask ids.
plan read_plan_file(const std::string& path, bool stdin_readable);

/// Runs the decomposition only and prints the plan (the `run` file format) on stdout; a
/// fallback to one subtask is said on stderr. Returns the exit status (0, 1 failed, 130).
int run_plan_command(const ask_settings& s, const standard_fds& fds);

}  // namespace conclave::cli
