// The shared task queue's Lua scripts. KEYS[1] is always the queue's base key
// ("PREFIX:queue:{NAME}"); the others hang off it (one hash tag, one cluster slot):
//   :pending  sorted set of queued ids, scored (10 - priority) * 2^40 + sequence
//   :seq      the sequence
//   :leases   sorted set of running ids, scored by lease end (server ms)
//   :task:ID  hash: body, priority, state, owner, score, requeues, cancel, result, error_code,
//             error_message, created_ms, started_ms, finished_ms
#include "scripts.hpp"

namespace conclave::redis {
namespace {

#define CONCLAVE_QUEUE_PRELUDE                                              \
  "local base = KEYS[1]\n"                                                  \
  "local t = redis.call('TIME')\n"                                          \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
  "local function task(id) return base .. ':task:' .. id end\n"

// ARGV: id, body, priority, capacity. -> {'ok', seq} | {'queue_full'} | {'exists'}
constexpr const char* submit_source = CONCLAVE_QUEUE_PRELUDE R"lua(
local id, body, priority, capacity = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', task(id)) == 1 then return {'exists'} end
if redis.call('ZCARD', base .. ':pending') >= capacity then return {'queue_full'} end
local seq = redis.call('INCR', base .. ':seq')
local score = string.format('%.0f', (10 - priority) * 1099511627776 + seq)
redis.call('HSET', task(id), 'body', body, 'priority', priority, 'state', 'queued',
           'score', score, 'requeues', 0, 'created_ms', now)
redis.call('ZADD', base .. ':pending', score, id)
return {'ok', seq}
)lua";

// ARGV: owner, lease ms. -> false | {id, body, priority, requeues, lease}. The lease names
// this claim (owner#claims), so a run whose lease was reaped cannot renew or finish the task
// even when the same owner has claimed it again.
constexpr const char* claim_source = CONCLAVE_QUEUE_PRELUDE R"lua(
local popped = redis.call('ZPOPMIN', base .. ':pending')
if #popped == 0 then return false end
local id = popped[1]
local lease = ARGV[1] .. '#' .. redis.call('HINCRBY', task(id), 'claims', 1)
redis.call('HSET', task(id), 'state', 'running', 'owner', ARGV[1], 'lease', lease,
           'started_ms', now)
redis.call('ZADD', base .. ':leases', now + tonumber(ARGV[2]), id)
local f = redis.call('HMGET', task(id), 'body', 'priority', 'requeues')
return {id, f[1] or '', tonumber(f[2] or 0), tonumber(f[3] or 0), lease}
)lua";

// ARGV: id, lease, lease ms. -> {held, cancel requested}
constexpr const char* renew_source = CONCLAVE_QUEUE_PRELUDE R"lua(
local f = redis.call('HMGET', task(ARGV[1]), 'state', 'lease', 'cancel')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return {0, 0} end
redis.call('ZADD', base .. ':leases', now + tonumber(ARGV[3]), ARGV[1])
return {1, f[3] == '1' and 1 or 0}
)lua";

// ARGV: id, lease, state, result, error code, error message, ttl ms. -> {held, cancel}
constexpr const char* finish_source = CONCLAVE_QUEUE_PRELUDE R"lua(
local id = ARGV[1]
local f = redis.call('HMGET', task(id), 'state', 'lease', 'cancel')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return {0, 0} end
redis.call('HSET', task(id), 'state', ARGV[3], 'result', ARGV[4], 'error_code', ARGV[5],
           'error_message', ARGV[6], 'finished_ms', now)
redis.call('ZREM', base .. ':leases', id)
redis.call('PEXPIRE', task(id), tonumber(ARGV[7]))
return {1, f[3] == '1' and 1 or 0}
)lua";

// ARGV: id, ttl ms. -> 'removed' | 'cancel_running' | 'already_finished' | 'unknown'
constexpr const char* cancel_source = CONCLAVE_QUEUE_PRELUDE R"lua(
local id = ARGV[1]
local f = redis.call('HMGET', task(id), 'state', 'owner')
if not f[1] then return 'unknown' end
if f[1] == 'queued' then
  redis.call('ZREM', base .. ':pending', id)
  redis.call('HSET', task(id), 'state', 'cancelled', 'error_code', 'cancelled',
             'error_message', 'cancelled before it started', 'finished_ms', now)
  redis.call('PEXPIRE', task(id), tonumber(ARGV[2]))
  return 'removed'
end
if f[1] == 'running' then
  redis.call('HSET', task(id), 'cancel', '1')
  redis.call('PUBLISH', base .. ':cancel:' .. f[2], id)
  return 'cancel_running'
end
return 'already_finished'
)lua";

// ARGV: max requeues, ttl ms. -> {requeued, failed}
constexpr const char* reap_source = CONCLAVE_QUEUE_PRELUDE R"lua(
local expired = redis.call('ZRANGEBYSCORE', base .. ':leases', '-inf', now)
local requeued, failed = 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', base .. ':leases', id)
  local f = redis.call('HMGET', task(id), 'state', 'score', 'requeues', 'cancel')
  if f[1] == 'running' then
    if f[4] ~= '1' and tonumber(f[3] or 0) < tonumber(ARGV[1]) then
      redis.call('HINCRBY', task(id), 'requeues', 1)
      redis.call('HSET', task(id), 'state', 'queued', 'owner', '', 'lease', '')
      redis.call('ZADD', base .. ':pending', f[2], id)
      requeued = requeued + 1
    else
      local why = 'its instance stopped renewing the lease'
      if f[4] == '1' then why = why .. ' (a cancel was asked)' end
      redis.call('HSET', task(id), 'state', f[4] == '1' and 'cancelled' or 'failed',
                 'error_code', f[4] == '1' and 'cancelled' or 'lease_expired',
                 'error_message', why, 'finished_ms', now)
      redis.call('PEXPIRE', task(id), tonumber(ARGV[2]))
      failed = failed + 1
    end
  end
end
return {requeued, failed}
)lua";

#undef CONCLAVE_QUEUE_PRELUDE

}  // namespace

const script& submit_script() {
  static const script s = make_script(submit_source);
  return s;
}
const script& claim_script() {
  static const script s = make_script(claim_source);
  return s;
}
const script& renew_script() {
  static const script s = make_script(renew_source);
  return s;
}
const script& finish_script() {
  static const script s = make_script(finish_source);
  return s;
}
const script& cancel_script() {
  static const script s = make_script(cancel_source);
  return s;
}
const script& reap_script() {
  static const script s = make_script(reap_source);
  return s;
}

}  // namespace conclave::redis
