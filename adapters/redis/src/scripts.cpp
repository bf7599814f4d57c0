#include "scripts.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>

#include <cstdio>
#include <memory>
#include <openssl/sha.h>

namespace conclave::redis {
namespace {

// KEYS: requests (zset of ids), tokens (zset of "id:amount"), cooldown, provider's remaining
// requests, provider's remaining tokens, the tokens' running sum. ARGV: window ms, request
// cap, token cap, tokens wanted, id. Returns {1, tokens reserved} or {0, ms to wait}. Time is
// the server's. The sum is kept beside the set, so a check costs O(log n) plus what leaves the
// window, not a walk over every call in it.
constexpr const char* reserve_source = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local want, id = tonumber(ARGV[4]), ARGV[5]
local function amount(member) return tonumber(string.match(member, ':(%d+)$')) or 0 end
local cool = redis.call('PTTL', KEYS[3])
if cool > 0 then return {0, cool} end
local wait = 0
-- Both windows are trimmed whatever the caps: starts are recorded either way.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
if #old > 0 then
  local gone = 0
  for i = 1, #old do gone = gone + amount(old[i]) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('DECRBY', KEYS[6], gone)
end
if rpm > 0 then
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local frees = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    wait = math.max(wait, tonumber(frees[2]) + window - now + 1)
  end
end
if tpm > 0 then
  if want > tpm then want = tpm end
  local sum = math.max(0, tonumber(redis.call('GET', KEYS[6]) or '0'))
  if sum + want > tpm then
    local freed, offset, found = 0, 0, false
    while not found do
      local batch = redis.call('ZRANGE', KEYS[2], offset, offset + 99, 'WITHSCORES')
      if #batch == 0 then break end
      for i = 1, #batch, 2 do
        freed = freed + amount(batch[i])
        if sum - freed + want <= tpm then
          wait = math.max(wait, tonumber(batch[i + 1]) + window - now + 1)
          found = true
          break
        end
      end
      offset = offset + 100
    end
    if not found then wait = math.max(wait, window) end
  end
end
local left_requests = redis.call('GET', KEYS[4])
if left_requests and tonumber(left_requests) <= 0 then
  wait = math.max(wait, redis.call('PTTL', KEYS[4]))
end
local left_tokens = redis.call('GET', KEYS[5])
if left_tokens and tonumber(left_tokens) < want then
  wait = math.max(wait, redis.call('PTTL', KEYS[5]))
end
if wait > 0 then return {0, wait} end
redis.call('ZADD', KEYS[1], now, id)
redis.call('ZADD', KEYS[2], now, id .. ':' .. want)
redis.call('INCRBY', KEYS[6], want)
for _, k in ipairs({1, 2, 6}) do redis.call('PEXPIRE', KEYS[k], window + 1000) end
if left_requests then redis.call('DECR', KEYS[4]) end
if left_tokens then redis.call('DECRBY', KEYS[5], want) end
return {1, want}
)lua";

// KEYS: requests, tokens, provider's remaining requests, provider's remaining tokens, the
// tokens' running sum. ARGV: id, tokens reserved, tokens used (-1: the call never started,
// give both back), remaining requests (-1: not sent), its reset ms, remaining tokens (-1),
// its reset ms.
constexpr const char* settle_source = R"lua(
local id, reserved, used = ARGV[1], ARGV[2], tonumber(ARGV[3])
local member = id .. ':' .. reserved
local score = redis.call('ZSCORE', KEYS[2], member)
if used < 0 then
  redis.call('ZREM', KEYS[1], id)
  if score then
    redis.call('ZREM', KEYS[2], member)
    redis.call('DECRBY', KEYS[5], tonumber(reserved))
  end
  return 1
end
if score and used ~= tonumber(reserved) then
  -- Added before the old member goes, so the set never empties (which would drop its TTL).
  redis.call('ZADD', KEYS[2], score, id .. ':' .. used)
  redis.call('ZREM', KEYS[2], member)
  redis.call('INCRBY', KEYS[5], used - tonumber(reserved))
end
local function clamp(key, remaining, reset)
  if remaining < 0 or reset <= 0 then return end
  local now = redis.call('GET', key)
  if (not now) or tonumber(now) > remaining then
    redis.call('SET', key, remaining, 'PX', reset)
  end
end
clamp(KEYS[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
clamp(KEYS[4], tonumber(ARGV[6]), tonumber(ARGV[7]))
return 1
)lua";

// KEYS: cooldown. ARGV: ms. A longer cooldown already running is kept.
constexpr const char* cool_down_source = R"lua(
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
)lua";

}  // namespace

script make_script(const char* source) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  const std::string text(source);
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  char two[3];
  for (unsigned char b : digest) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return {source, hex};
}

namespace {

std::vector<std::string> command(const char* verb, const std::string& what,
                                 const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args) {
  std::vector<std::string> c{verb, what, std::to_string(keys.size())};
  c.insert(c.end(), keys.begin(), keys.end());
  c.insert(c.end(), args.begin(), args.end());
  return c;
}

}  // namespace

const script& reserve_script() {
  static const script s = make_script(reserve_source);
  return s;
}
const script& settle_script() {
  static const script s = make_script(settle_source);
  return s;
}
const script& cool_down_script() {
  static const script s = make_script(cool_down_source);
  return s;
}

void run_script(connection& redis, const script& s, const std::vector<std::string>& keys,
                const std::vector<std::string>& args,
                boost::asio::any_completion_handler<connection::command_signature> done) {
  // The EVAL form (with the whole source) is built only on NOSCRIPT, which is rare.
  auto again = [&s, keys, args] { return command("EVAL", s.source, keys, args); };
  // The caller's cancellation slot goes with the command (and with its EVAL, after NOSCRIPT).
  auto slot = boost::asio::get_associated_cancellation_slot(done);
  redis.async_command(command("EVALSHA", s.sha1, keys, args),
                      boost::asio::bind_cancellation_slot(
                          slot, [&redis, again = std::move(again), done = std::move(done)](
                                    boost::system::error_code ec, reply r) mutable {
                            if (ec == error::server_error && r.text.starts_with("NOSCRIPT"))
                              return redis.async_command(again(),
                                                         std::move(done));  // keeps its slot
                            done(ec, std::move(r));
                          }));
}

}  // namespace conclave::redis
