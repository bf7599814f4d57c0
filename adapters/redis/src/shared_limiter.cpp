#include "scripts.hpp"

#include <conclave/redis/shared_limiter.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>

#include <atomic>
#include <random>

namespace conclave::redis {
namespace asio = boost::asio;
namespace {

// The key's parts inside one hash tag, so a cluster keeps them on one slot; braces in the
// caller's text would end the tag early, so they go, and the text is bounded.
std::string base_key(const shared_limiter_options& o, std::string key) {
  std::erase(key, '{');
  std::erase(key, '}');
  if (key.size() > 200)  // bounded, and two long keys that share a prefix stay apart
    key = key.substr(0, 180) + "#" + std::to_string(std::hash<std::string>{}(key));
  return o.prefix + ":limit:{" + key + "}";
}

std::vector<std::string> keys_for(const shared_limiter_options& o, const std::string& key) {
  const std::string b = base_key(o, key);
  return {b + ":requests",      b + ":tokens",      b + ":cooldown",
          b + ":left_requests", b + ":left_tokens", b + ":token_sum"};
}

std::string fresh_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t salt = [] {
    std::random_device rd;
    return (std::uint64_t(rd()) << 32) ^ rd();
  }();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx-%llu", static_cast<unsigned long long>(salt),
                static_cast<unsigned long long>(++counter));
  return buf;
}

}  // namespace

std::string shared_limiter::reserve_script_sha1() { return reserve_script().sha1; }

shared_limiter::shared_limiter(connection& redis, shared_limiter_options opts)
    : redis_(redis), opts_(std::move(opts)) {}

void shared_limiter::start_reserve(std::string key, shared_limit limit, std::int64_t tokens,
                                   asio::any_completion_handler<reserve_signature> h) {
  grant g;
  g.id = fresh_id();
  const auto k = keys_for(opts_, key);
  std::vector<std::string> args{
      std::to_string(limit.window.count()),
      std::to_string(std::max<std::int64_t>(0, limit.requests_per_window)),
      std::to_string(std::max<std::int64_t>(0, limit.tokens_per_window)),
      std::to_string(std::max<std::int64_t>(0, tokens)), g.id};
  auto slot = asio::get_associated_cancellation_slot(h);  // a reserve can be cancelled
  run_script(redis_, reserve_script(), k, args,
             asio::bind_cancellation_slot(slot, [this, g = std::move(g), h = std::move(h)](
                                                    boost::system::error_code ec, reply r) mutable {
               if (ec) {
                 grant failed;
                 failed.failure = std::move(r.text);
                 return complete_on(redis_, std::move(h), ec, std::move(failed));
               }
               if (r.type != reply::kind::array || r.elements.size() != 2 ||
                   !r.elements[0].as_integer() || !r.elements[1].as_integer())
                 return complete_on(redis_, std::move(h), make_error_code(error::unexpected_reply),
                                    grant{});
               const auto value = *r.elements[1].as_integer();
               if (*r.elements[0].as_integer() == 1) {
                 g.granted = true;
                 g.tokens = value;
               } else {
                 g.granted = false;
                 g.wait = std::chrono::milliseconds(std::max<std::int64_t>(1, value));
                 g.id.clear();
               }
               complete_on(redis_, std::move(h), boost::system::error_code(), std::move(g));
             }));
}

void shared_limiter::start_settle(std::string key, grant g, std::int64_t used,
                                  rate_limit_info provider,
                                  asio::any_completion_handler<done_signature> h) {
  if (!g.granted || g.id.empty())
    return complete_on(redis_, std::move(h), boost::system::error_code());
  const auto k = keys_for(opts_, key);
  auto reset = [](std::optional<std::chrono::milliseconds> ms) {
    return std::to_string(ms ? std::max<std::int64_t>(0, ms->count()) : 0);
  };
  auto left = [](std::optional<std::int64_t> n) {
    return std::to_string(n ? std::max<std::int64_t>(0, *n) : -1);
  };
  std::vector<std::string> args{g.id,
                                std::to_string(g.tokens),
                                std::to_string(used < 0 ? -1 : used),
                                left(provider.remaining_requests),
                                reset(provider.reset_requests),
                                left(provider.remaining_tokens),
                                reset(provider.reset_tokens)};
  run_script(redis_, settle_script(), {k[0], k[1], k[3], k[4], k[5]}, args,
             [this, h = std::move(h)](boost::system::error_code ec, reply) mutable {
               complete_on(redis_, std::move(h), ec);
             });
}

void shared_limiter::start_cool_down(std::string key,
                                     std::optional<std::chrono::milliseconds> retry_after,
                                     asio::any_completion_handler<done_signature> h) {
  const auto longest = std::max(opts_.max_cooldown, std::chrono::milliseconds(1));
  const auto ms = std::clamp(retry_after.value_or(opts_.default_cooldown),
                             std::chrono::milliseconds(1), longest);
  run_script(redis_, cool_down_script(), {keys_for(opts_, key)[2]}, {std::to_string(ms.count())},
             [this, h = std::move(h)](boost::system::error_code ec, reply) mutable {
               complete_on(redis_, std::move(h), ec);
             });
}

}  // namespace conclave::redis
