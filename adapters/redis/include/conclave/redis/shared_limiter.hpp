// Provider limits shared by every instance on one Redis: per key (organisation, provider,
// model family) a sliding window of requests and one of tokens, a cooldown after a 429 and a
// clamp to what the provider's own x-ratelimit-remaining headers say. Each check is one Lua
// script, atomic on the server and timed by the server's clock (instances' clocks may differ).
//
// Why windows and not a refilling bucket: a bucket of R that refills R per minute lets 2R
// start within the first minute; a window of starts promises what a provider's RPM means, at
// most R in any minute, and is what the engine's own limiter does in one process.
//
// A reservation (async_reserve) counts 1 request and the call's estimated tokens at once; when
// the call is done, async_settle puts in the tokens really used and what the provider said of
// its remaining budget; a call that never started gives both back with async_release.
#pragma once

#include <conclave/engine/chat.hpp>
#include <conclave/redis/connection.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace conclave::redis {

struct shared_limit {
  std::int64_t requests_per_window = 0;      ///< call starts per window; 0: no cap
  std::int64_t tokens_per_window = 0;        ///< estimated then settled tokens; 0: no cap
  std::chrono::milliseconds window{60'000};  ///< both caps count over this
};

struct shared_limiter_options {
  std::string prefix = "conclave";                   ///< every key starts with it
  std::chrono::milliseconds default_cooldown{1000};  ///< after a 429 that names no delay
  std::chrono::milliseconds max_cooldown{60'000};    ///< a longer retry-after is capped here
};

/// What async_reserve gave: leave to call now, or how long to wait before asking again.
struct grant {
  bool granted = false;
  std::chrono::milliseconds wait{0};  ///< not granted: the earliest a retry can succeed
  std::string id;                     ///< granted: settle or release with it
  std::int64_t tokens = 0;            ///< granted: tokens reserved (clamped to the cap)
  std::string failure;                ///< on an error: what the connection or server said
};

class shared_limiter {
 public:
  /// `redis` must outlive the limiter and every operation on it.
  explicit shared_limiter(connection& redis, shared_limiter_options opts = {});

  using reserve_signature = void(boost::system::error_code, grant);
  using done_signature = void(boost::system::error_code);

  /// Reserves one request and `tokens` under `key` ("org:provider:family"), unless that would
  /// break `limit`, a cooldown runs, or the provider's remaining budget is spent.
  template <typename CompletionToken>
  auto async_reserve(std::string key, shared_limit limit, std::int64_t tokens,
                     CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, reserve_signature>(
        [this](auto h, std::string k, shared_limit l, std::int64_t t) {
          start_reserve(std::move(k), l, t,
                        boost::asio::any_completion_handler<reserve_signature>(std::move(h)));
        },
        token, std::move(key), limit, tokens);
  }

  /// The call ended: `used_tokens` replace the estimate, and the provider's remaining
  /// requests and tokens (when sent, with their reset times) clamp what every instance may
  /// start until then.
  template <typename CompletionToken>
  auto async_settle(std::string key, grant g, std::int64_t used_tokens, rate_limit_info provider,
                    CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, done_signature>(
        [this](auto h, std::string k, grant gr, std::int64_t used, rate_limit_info p) {
          start_settle(std::move(k), std::move(gr), used, p,
                       boost::asio::any_completion_handler<done_signature>(std::move(h)));
        },
        token, std::move(key), std::move(g), used_tokens, provider);
  }

  /// The call never started: its request and tokens count for nothing.
  template <typename CompletionToken>
  auto async_release(std::string key, grant g, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, done_signature>(
        [this](auto h, std::string k, grant gr) {
          start_settle(std::move(k), std::move(gr), -1, {},
                       boost::asio::any_completion_handler<done_signature>(std::move(h)));
        },
        token, std::move(key), std::move(g));
  }

  /// A 429: no instance starts a call under `key` for `retry_after` (none: default_cooldown;
  /// capped at max_cooldown). A longer cooldown already running is kept.
  template <typename CompletionToken>
  auto async_cool_down(std::string key, std::optional<std::chrono::milliseconds> retry_after,
                       CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, done_signature>(
        [this](auto h, std::string k, std::optional<std::chrono::milliseconds> r) {
          start_cool_down(std::move(k), r,
                          boost::asio::any_completion_handler<done_signature>(std::move(h)));
        },
        token, std::move(key), retry_after);
  }

  /// The reservation script's SHA1, for tools that run it themselves (the bench's peer);
  /// its KEYS and ARGV are as documented in scripts.cpp.
  static std::string reserve_script_sha1();

  const shared_limiter_options& options() const noexcept { return opts_; }
  connection& redis() noexcept { return redis_; }

 private:
  void start_reserve(std::string key, shared_limit limit, std::int64_t tokens,
                     boost::asio::any_completion_handler<reserve_signature> h);
  void start_settle(std::string key, grant g, std::int64_t used, rate_limit_info provider,
                    boost::asio::any_completion_handler<done_signature> h);
  void start_cool_down(std::string key, std::optional<std::chrono::milliseconds> retry_after,
                       boost::asio::any_completion_handler<done_signature> h);

  connection& redis_;
  shared_limiter_options opts_;
};

}  // namespace conclave::redis
