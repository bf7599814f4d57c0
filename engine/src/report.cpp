#include <conclave/engine/error.hpp>
#include <conclave/engine/report.hpp>

namespace conclave {

const char* to_string(agent_status s) noexcept {
  switch (s) {
    case agent_status::ok:
      return "ok";
    case agent_status::failed:
      return "failed";
    case agent_status::timed_out:
      return "timed_out";
    case agent_status::cancelled:
      return "cancelled";
    case agent_status::max_turns:
      return "max_turns";
    case agent_status::stalled:
      return "stalled";
    case agent_status::skipped:
      return "skipped";
  }
  return "unknown";
}

bool has_answer(agent_status s) noexcept {
  return s == agent_status::ok || s == agent_status::max_turns || s == agent_status::stalled;
}

const char* answer_mark(stop_reason s) noexcept {
  switch (s) {
    case stop_reason::length:
      return "truncated";
    case stop_reason::content_filter:
      return "refused";
    default:
      return "";
  }
}

usage run_report::total_tokens() const noexcept {
  usage u = decomposition_tokens;
  u += synthesis_tokens;
  for (const auto& a : agents) u += a.tokens;
  return u;
}

double run_report::speedup() const noexcept {
  if (fan_out_wall.count() <= 0) return 0.0;
  return static_cast<double>(agent_time_sum.count()) / static_cast<double>(fan_out_wall.count());
}

std::size_t run_report::answered() const noexcept {
  std::size_t n = 0;
  for (const auto& a : agents) n += has_answer(a.status) && !a.answer.empty();
  return n;
}

std::size_t run_report::count(agent_status s) const noexcept {
  std::size_t n = 0;
  for (const auto& a : agents) n += a.status == s;
  return n;
}

}  // namespace conclave
