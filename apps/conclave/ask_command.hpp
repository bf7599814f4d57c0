// `conclave ask`: sends the question and prints the answer (text or JSON).
#pragma once

#include "settings.hpp"

namespace conclave::cli {

/// Exit status: 0 answered, 1 the call failed, 130 interrupted (SIGINT/SIGTERM).
int run_ask(const ask_settings& s);

}  // namespace conclave::cli
