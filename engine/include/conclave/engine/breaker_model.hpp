// A model behind circuit breakers (see circuit_breaker.hpp), one per model name, since one
// overloaded model says little about its siblings on the same server: when a model keeps
// failing, calls to it fail fast with error::circuit_open (diagnostics say when it will try
// again) instead of each waiting out its own timeout on a dead service, and agents can move
// to a fallback model at once. Put it outermost, so a fast failure takes no rate-limit permit;
// share one per provider endpoint.
#pragma once

#include <conclave/engine/circuit_breaker.hpp>
#include <conclave/engine/model.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace conclave {

class breaker_model final : public model {
 public:
  /// `inner` must outlive this object.
  breaker_model(model& inner, breaker_options opts = {});

  std::string describe() const override { return inner_.describe(); }
  std::string describe_model(std::string_view requested) const override {
    return inner_.describe_model(requested);
  }
  boost::asio::any_io_executor get_executor() const override { return inner_.get_executor(); }

  /// The breaker of one model name (the request's; empty for the inner model's default).
  breaker_state state(const std::string& model_name = {}) const;
  int times_opened(const std::string& model_name = {}) const;
  std::uint64_t fast_failures() const noexcept { return fast_failures_; }

  /// Upkeep for a long-lived host, called on a timer so memory stays bounded under arbitrary
  /// model names: forgets the breaker of every model name that is closed, has no call in
  /// flight and had none since `unused_since`. Returns how many. Failures in a row short of
  /// the threshold, and times_opened, are forgotten with it. Thread-safe.
  std::size_t expire_idle(std::chrono::steady_clock::time_point unused_since);
  /// Model names with a breaker kept now.
  std::size_t endpoint_count() const;

 protected:
  /// Completes with error::circuit_open at once (on `ex`) while the breaker is open;
  /// otherwise forwards to the inner model, cancellation included.
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override;

 private:
  model& inner_;
  breaker_options opts_;
  mutable std::mutex mutex_;  // guards breakers_ for a few instructions; never across a suspension
  struct entry {
    explicit entry(const breaker_options& o) : breaker(o) {}
    circuit_breaker breaker;
    int in_flight = 0;  // admitted calls not yet ended: never forgotten while > 0
    std::chrono::steady_clock::time_point last_used;
  };
  std::map<std::string, entry, std::less<>> breakers_;
  std::atomic<std::uint64_t> fast_failures_{0};
};

}  // namespace conclave
