// A failed run on the wire: its status, words and, for rate limits, how long to back off.
#include <conclave/engine/error.hpp>
#include <conclave/engine/report.hpp>
#include <conclave/serve/openai_compat.hpp>

#include <algorithm>

namespace conclave::serve {
namespace {

// A run that rate limits stopped before any agent answered: how long they asked to wait, the
// longest. None when anything else failed it.
std::optional<std::chrono::milliseconds> refused_by_limits(const boost::system::error_code& ec,
                                                           const run_report& r) {
  if (ec != error::rate_limited && ec != error::all_agents_failed) return std::nullopt;
  std::chrono::milliseconds wait{1000};
  if (ec == error::all_agents_failed) {
    if (r.agents.empty()) return std::nullopt;
    for (const auto& a : r.agents) {
      if (a.error != error::rate_limited) return std::nullopt;
      if (a.diag.retry_after) wait = std::max(wait, *a.diag.retry_after);
    }
  }
  return std::min(wait, std::chrono::milliseconds(3'600'000));
}

}  // namespace

wire_error run_failure(const boost::system::error_code& ec, const run_report& r) {
  wire_error e;
  e.type = "server_error";
  e.code = error_id(ec);
  e.message =
      "heavy mode failed: " + ec.message() + (r.stop_note.empty() ? "" : ": " + r.stop_note);
  // Every agent failed the same way (a provider or Redis down, say): the error says which.
  if (ec == error::all_agents_failed && !r.agents.empty()) {
    const auto& first = r.agents.front();
    const bool alike = std::all_of(r.agents.begin(), r.agents.end(),
                                   [&](const agent_report& a) { return a.error == first.error; });
    // Our words only: a provider's own text stays in the report, not on the client's wire.
    if (alike && first.error) e.message += " (every agent: " + first.error.message() + ")";
  }
  e.status = ec == error::timeout                                         ? 504
             : ec == error::all_agents_failed || ec == error::auth_failed ? 502
                                                                          : 500;
  if (auto wait = refused_by_limits(ec, r)) {
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "rate_limited";
    e.retry_after = wait;
  }
  return e;
}

}  // namespace conclave::serve
