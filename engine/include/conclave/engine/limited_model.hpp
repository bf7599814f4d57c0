// A model with rate limits in front (see rate_limit.hpp): every call waits for a concurrency
// permit, its place in the request and token windows, and the end of any cooldown, then goes
// to the inner model; what the reply says (429, retry-after, x-ratelimit-* headers, usage)
// tunes the limits for every caller. Wrap one provider endpoint once and share the wrapper:
// all agents of all runs that call through it then slow down together instead of hammering
// a throttled endpoint and failing together.
#pragma once

#include <conclave/engine/model.hpp>
#include <conclave/engine/rate_limit.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace conclave {
namespace detail {
struct limited_endpoint;
}

class limited_model final : public model {
 public:
  /// Which limits a model name shares: names with the same key share one set (Anthropic
  /// limits a model family, e.g. every dated snapshot of one model). Unset: the name itself.
  using limit_key = std::function<std::string(std::string_view model_name)>;

  /// `inner` must outlive this object. Limits are kept per key of the request's model name
  /// (empty for the inner model's default), each with its own copy of `opts`.
  limited_model(model& inner, rate_limit_options opts, limit_key key = {});
  ~limited_model() override;

  std::string describe() const override { return inner_.describe(); }
  std::string describe_model(std::string_view requested) const override {
    return inner_.describe_model(requested);
  }
  boost::asio::any_io_executor get_executor() const override { return inner_.get_executor(); }

  struct stats {
    double concurrency_cap = 0;   ///< the adaptive cap now (0: no cap)
    std::uint64_t calls = 0;      ///< calls that reached the inner model
    std::uint64_t waiting = 0;    ///< calls waiting for a permit or their start time now
    std::uint64_t in_flight = 0;  ///< calls at the inner model now
    std::uint64_t peak_in_flight = 0;
    std::uint64_t rate_limited = 0;  ///< 429s seen
  };
  /// A snapshot of the limits a model name shares (all zero when none was called).
  stats stats_for(const std::string& model_name) const;

  /// Upkeep for a long-lived host, called on a timer so memory stays bounded under arbitrary
  /// model names: forgets the limits of every key with no call in flight or waiting, no
  /// cooldown running, no reservation left in a window, and no call since `unused_since`.
  /// Returns how many. A key's next call starts afresh (full cap, empty windows).
  /// Thread-safe.
  std::size_t expire_idle(std::chrono::steady_clock::time_point unused_since);
  /// Keys with limits kept now.
  std::size_t endpoint_count() const;

 protected:
  /// Waiting counts toward the caller's deadline. Cancellation (terminal) ends the wait or
  /// the inner call; a call cancelled before it started gives its reservations back.
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override;

 private:
  using endpoint = detail::limited_endpoint;
  std::shared_ptr<endpoint> endpoint_for(const std::string& model_name);

  model& inner_;
  rate_limit_options opts_;
  limit_key key_;
  mutable std::mutex mutex_;  // guards the map only; never held across a suspension
  std::map<std::string, std::shared_ptr<endpoint>> endpoints_;
};

}  // namespace conclave
