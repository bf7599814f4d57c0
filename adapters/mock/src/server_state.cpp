#include "server_state.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sys/resource.h>

namespace conclave::mock::detail {

fault server_state::draw_fault() {
  if (opts.fault_rate <= 0) return fault::none;
  static constexpr fault usual[] = {fault::rate_limited, fault::server_error, fault::unavailable,
                                    fault::reset,        fault::malformed,    fault::truncated,
                                    fault::error_event,  fault::hang};
  const std::size_t kinds = opts.random_hangs ? std::size(usual) : std::size(usual) - 1;
  std::lock_guard lock(rng_mutex);
  if (std::uniform_real_distribution<double>(0.0, 1.0)(fault_rng) >= opts.fault_rate) {
    return fault::none;
  }
  return usual[std::uniform_int_distribution<std::size_t>(0, kinds - 1)(fault_rng)];
}

std::optional<server_state::admission> server_state::admit(
    std::chrono::steady_clock::time_point now) {
  using std::chrono::milliseconds;
  if (opts.rate_limit_requests == 0) return std::nullopt;
  const auto window = opts.rate_limit_window;
  std::lock_guard lock(rng_mutex);
  while (!window_starts.empty() && window_starts.front() <= now - window) window_starts.pop_front();
  admission a;
  auto until_oldest_leaves = [&] {
    return window_starts.empty()
               ? milliseconds(0)
               : std::chrono::ceil<milliseconds>(window_starts.front() + window - now);
  };
  if (window_starts.size() >= opts.rate_limit_requests) {
    a.allowed = false;
    a.retry_after = std::max(milliseconds(1), until_oldest_leaves());
    a.reset = a.retry_after;
    ++rate_limited;
    return a;
  }
  window_starts.push_back(now);
  const auto in_window = static_cast<std::uint64_t>(window_starts.size());
  for (auto peak = peak_window_requests.load();
       in_window > peak && !peak_window_requests.compare_exchange_weak(peak, in_window);) {
  }
  a.remaining = static_cast<std::int64_t>(opts.rate_limit_requests - window_starts.size());
  a.reset = until_oldest_leaves();
  return a;
}

std::string server_state::stats_json(std::uint64_t connections_accepted) const {
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  auto us = [](const timeval& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000 + static_cast<std::int64_t>(t.tv_usec);
  };
  boost::json::object o{
      {"connections_accepted", connections_accepted},
      {"requests", requests.load()},
      {"completions", completions.load()},
      {"faults_injected", faults_injected.load()},
      {"rate_limited", rate_limited.load()},
      {"in_flight", in_flight.load()},
      {"calls_by_wire",
       boost::json::object{{"openai", openai_calls.load()}, {"anthropic", anthropic_calls.load()}}},
      {"cpu_user_us", us(self.ru_utime)},
      {"cpu_sys_us", us(self.ru_stime)},
      {"max_rss_kb", static_cast<std::int64_t>(self.ru_maxrss)}};
  return boost::json::serialize(o);
}

}  // namespace conclave::mock::detail
