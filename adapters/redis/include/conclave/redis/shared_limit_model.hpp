// A model whose calls respect limits shared by every instance through Redis (see
// shared_limiter.hpp): each call first reserves a request and its estimated tokens under its
// key, waits when the shared window, a cooldown or the provider's remaining budget says so,
// then goes to the inner model; its usage and the provider's rate-limit headers are written
// back for every instance (not awaited by the caller), and a 429 sets a cooldown for every
// instance (awaited: once the caller hears of the 429, no instance starts under that key).
//
// Stack it inside the process's own limited_model (which caps concurrency and adapts), next
// to the provider: limited_model -> shared_limit_model -> provider, so that a reservation is
// made just before the call starts. A wait that would pass the request's deadline fails at
// once with rate_limited (diag.retry_after says how long). When Redis cannot be reached, or
// answers too late, the call fails with connection_failed (retryable); a refused AUTH or a
// script error with its Redis error. Closed rather than open: an organisation's limit is not
// broken because one instance lost its way to Redis. Every such failure carries
// diag.refused_before_sending, so outer limiters and breakers do not blame the provider.
#pragma once

#include <conclave/engine/model.hpp>
#include <conclave/redis/shared_limiter.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace conclave::redis {

struct shared_limit_stats {
  std::uint64_t admitted = 0;      ///< calls that reached the inner model
  std::uint64_t waits = 0;         ///< times a call waited for the shared limits
  std::uint64_t refused = 0;       ///< calls failed: the wait would pass their deadline
  std::uint64_t redis_errors = 0;  ///< calls failed: the limiter could not be asked
  std::uint64_t rate_limited = 0;  ///< 429s seen from the inner model (each set a cooldown)
};

class shared_limit_model final : public model {
 public:
  /// The limits' key for a request's model name: "organisation:provider:family".
  using key_function = std::function<std::string(std::string_view model_name)>;

  /// `inner` and `limiter` must outlive this object and its calls. Unset `key`:
  /// "default:" + inner.describe_model(name) (inner.describe() for the default model).
  shared_limit_model(model& inner, shared_limiter& limiter, shared_limit limit,
                     key_function key = {}, std::int64_t default_completion_tokens = 512);

  std::string describe() const override { return inner_.describe(); }
  std::string describe_model(std::string_view requested) const override {
    return inner_.describe_model(requested);
  }
  boost::asio::any_io_executor get_executor() const override { return inner_.get_executor(); }

  shared_limit_stats stats() const noexcept;
  /// The key a request naming `model_name` is limited under.
  std::string key_for(std::string_view model_name) const;

 protected:
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override;

 private:
  void call_inner(boost::asio::any_io_executor ex, std::string key, grant g, chat_request req,
                  delta_handler on_delta, completion_handler handler);

  model& inner_;
  shared_limiter& limiter_;
  shared_limit limit_;
  key_function key_;
  std::int64_t default_completion_tokens_;
  std::atomic<std::uint64_t> admitted_{0}, waits_{0}, refused_{0}, redis_errors_{0},
      rate_limited_{0};
};

}  // namespace conclave::redis
