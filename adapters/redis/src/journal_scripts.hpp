// The Redis journal's Lua scripts (journal_scripts.cpp). Internal to the library.
#pragma once

#include "scripts.hpp"

namespace conclave::redis {

const script& journal_insert_run_script();
const script& journal_insert_step_script();
const script& journal_update_run_script();
const script& journal_steps_script();
const script& journal_runs_script();
const script& journal_prune_script();
const script& journal_hold_script();
const script& journal_release_script();
const script& journal_note_takeover_script();
const script& journal_request_cancel_script();
const script& journal_claim_script();

}  // namespace conclave::redis
