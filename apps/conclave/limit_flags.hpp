// The provider-limit flags of ask, run, plan and serve: --rpm, --tpm, and --redis /
// --redis-org to share them (with 429 cooldowns) across processes on one Redis.
#pragma once

#include "settings.hpp"

namespace CLI {
class App;
}

namespace conclave::cli {

void add_limit_flags(CLI::App& cmd, ask_settings& s);

}  // namespace conclave::cli
