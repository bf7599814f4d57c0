// The Redis journal's Lua scripts: each write is one script, so it is atomic across instances.
#include "journal_scripts.hpp"

namespace conclave::redis {
namespace {

// KEYS: run, running, runs, owner index, and for a queued run its queue and the sequence.
// ARGV: id, created_ms, kind, question, options, plan, owner, and for a queued run its queue
// name, priority (0-10) and the queue's capacity. -2: the id is taken; -1: the queue is full
// (nothing written); else written: 0, or a queued run's position. The owner index names the
// owner's latest run. A queue serves higher priority first, then the order queued.
constexpr const char* insert_run_source = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end
local queued = ARGV[8] ~= nil and ARGV[8] ~= ''
if queued and redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[10]) then return -1 end
redis.call('HSET', KEYS[1], 'kind', ARGV[3], 'question', ARGV[4], 'options_json', ARGV[5],
  'plan_json', ARGV[6], 'status', 'running', 'created_ms', ARGV[2], 'updated_ms', ARGV[2],
  'report_json', '', 'owner', ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if ARGV[7] ~= '' then redis.call('SET', KEYS[4], ARGV[1]) end
if not queued then return 0 end
redis.call('HSET', KEYS[1], 'queue', ARGV[8])
local seq = redis.call('INCR', KEYS[6])
redis.call('ZADD', KEYS[5], (10 - tonumber(ARGV[9])) * 1099511627776 + seq, ARGV[1])
return redis.call('ZRANK', KEYS[5], ARGV[1])
)lua";

// KEYS: run, steps, order. ARGV: step key, payload ("kind\nat_ms\njson").
// 1: written; 0: the key was there; -1: no such run.
constexpr const char* insert_step_source = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return 1
)lua";

// KEYS: run, running, steps, order, hold. ARGV: id, status, report, at_ms, ttl_ms, owner key
// prefix, holder, the `runs` index. 1: updated; 0: no such run; -1: refused, another holder holds
// it (only when a holder is given). A finished run leaves `running`, its cancel request is spent,
// and it expires after ttl (its owner index too, while it names this run); a run back to running is
// listed again and kept.
constexpr const char* update_run_source = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[7] ~= '' then
  -- A holder's end: refused when another holds the run, or when it ended already (another
  -- took it over, ended it and let go while this holder was cut off).
  local h = redis.call('GET', KEYS[5])
  if h and h ~= ARGV[7] then return -1 end
  if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return -1 end
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'report_json', ARGV[3], 'updated_ms', ARGV[4])
local owner = redis.call('HGET', KEYS[1], 'owner')
local index = owner and owner ~= '' and ARGV[6] .. owner
if index and redis.call('GET', index) ~= ARGV[1] then index = nil end
if ARGV[2] == 'running' then
  redis.call('ZADD', KEYS[2], redis.call('HGET', KEYS[1], 'created_ms'), ARGV[1])
  for i = 1, 4 do if i ~= 2 then redis.call('PERSIST', KEYS[i]) end end
  if index then redis.call('PERSIST', index) end
else
  -- `runs` (for recent()) forgets runs begun longer than ttl ago: bounded without a sweep.
  redis.call('ZREMRANGEBYSCORE', ARGV[8], '-inf', '(' .. (tonumber(ARGV[4]) - tonumber(ARGV[5])))
  redis.call('HDEL', KEYS[1], 'cancel')
  redis.call('ZREM', KEYS[2], ARGV[1])
  for i = 1, 4 do if i ~= 2 then redis.call('PEXPIRE', KEYS[i], ARGV[5]) end end
  if index then redis.call('PEXPIRE', index, ARGV[5]) end
end
return 1
)lua";

// KEYS: steps, order. The steps in order: key, payload, key, payload...
constexpr const char* steps_source = R"lua(
local keys = redis.call('LRANGE', KEYS[2], 0, -1)
local out = {}
for i = 1, #keys do
  out[#out + 1] = keys[i]
  out[#out + 1] = redis.call('HGET', KEYS[1], keys[i]) or ''
end
return out
)lua";

// KEYS: an index (sorted set of ids). ARGV: run key prefix, 'asc' or 'desc', limit.
// { {id, field, value, ...}, ... }; ids whose run expired leave the index on the way.
constexpr const char* runs_source = R"lua(
local ids
if ARGV[2] == 'asc' then
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
else
  ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
end
local out = {}
local limit = tonumber(ARGV[3])
for i = 1, #ids do
  if #out >= limit then break end
  local fields = redis.call('HGETALL', ARGV[1] .. ids[i])
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], ids[i])
  else
    table.insert(fields, 1, ids[i])
    out[#out + 1] = fields
  end
end
return out
)lua";

// KEYS: runs, running. ARGV: key prefix ("P:journal:"), older_than_ms. Deletes finished runs
// last updated before older_than_ms (and forgets expired ones); how many it deleted.
constexpr const char* prune_source = R"lua(
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local gone = 0
for i = 1, #ids do
  local run = ARGV[1] .. 'run:' .. ids[i]
  local state = redis.call('HMGET', run, 'status', 'updated_ms')
  if not state[1] then
    redis.call('ZREM', KEYS[1], ids[i])
  elseif state[1] ~= 'running' and tonumber(state[2]) < tonumber(ARGV[2]) then
    local owner = ARGV[1] .. 'owner:' .. (redis.call('HGET', run, 'owner') or '')
    if redis.call('GET', owner) == ids[i] then redis.call('DEL', owner) end
    redis.call('DEL', run, ARGV[1] .. 'steps:' .. ids[i], ARGV[1] .. 'order:' .. ids[i])
    redis.call('ZREM', KEYS[1], ids[i])
    redis.call('ZREM', KEYS[2], ids[i])
    gone = gone + 1
  end
end
return gone
)lua";

// KEYS: hold, run. ARGV: holder, ttl_ms. 1: held by the caller now; 0: another's hold is
// live; 2: held by the caller, and a cancel was asked for; 3: the run is gone or ended (not
// held: a run that ended is never run again); 4: it waits in a queue (not held: it is the
// claimer's).
constexpr const char* hold_source = R"lua(
if redis.call('HGET', KEYS[2], 'status') ~= 'running' then return 3 end
if redis.call('HGET', KEYS[2], 'queue') then return 4 end
local h = redis.call('GET', KEYS[1])
if h and h ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('HGET', KEYS[2], 'cancel') == '1' then return 2 end
return 1
)lua";

// KEYS: run, running, steps, order. ARGV: id, at_ms, ttl_ms, key prefix ("P:journal:").
// 0: no such run, or not running; 1: flagged for its holder; 2: it was queued: out of its
// queue and ended cancelled (expiring as any finished run).
constexpr const char* request_cancel_source = R"lua(
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
local queue = redis.call('HGET', KEYS[1], 'queue')
if not queue then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  return 1
end
redis.call('ZREM', ARGV[4] .. 'queue:' .. queue, ARGV[1])
redis.call('HDEL', KEYS[1], 'queue')
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated_ms', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 1, 4 do if i ~= 2 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end end
local owner = ARGV[4] .. 'owner:' .. (redis.call('HGET', KEYS[1], 'owner') or '')
if redis.call('GET', owner) == ARGV[1] then redis.call('PEXPIRE', owner, ARGV[3]) end
return 2
)lua";

// KEYS: queue. ARGV: key prefix ("P:journal:"), holder, ttl_ms. The next run that still runs,
// out of the queue and held by the holder: {id, field, value, ...}; nil when none is left.
constexpr const char* claim_source = R"lua(
while true do
  local top = redis.call('ZPOPMIN', KEYS[1])
  if #top == 0 then return false end
  local id = top[1]
  local run = ARGV[1] .. 'run:' .. id
  if redis.call('HGET', run, 'status') == 'running' then
    redis.call('HDEL', run, 'queue')
    redis.call('SET', ARGV[1] .. 'hold:' .. id, ARGV[2], 'PX', ARGV[3])
    local fields = redis.call('HGETALL', run)
    table.insert(fields, 1, id)
    return fields
  end
end
)lua";

// KEYS: hold, run. ARGV: holder. The caller's hold goes (another's stays); a running run so
// handed over is marked, so the next takeover does not count it.
constexpr const char* release_source = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('HGET', KEYS[2], 'status') == 'running' then
    redis.call('HSET', KEYS[2], 'handed_over', '1')
  end
end
return 1
)lua";

// KEYS: run. How many times the run was taken over from a dead holder, this time included;
// a run handed over by a release is not counted (and its mark is spent).
constexpr const char* note_takeover_source = R"lua(
if redis.call('HGET', KEYS[1], 'handed_over') == '1' then
  redis.call('HDEL', KEYS[1], 'handed_over')
  return tonumber(redis.call('HGET', KEYS[1], 'takeovers') or '0')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'takeovers', 1)
)lua";

}  // namespace

const script& journal_insert_run_script() {
  static const script s = make_script(insert_run_source);
  return s;
}
const script& journal_insert_step_script() {
  static const script s = make_script(insert_step_source);
  return s;
}
const script& journal_update_run_script() {
  static const script s = make_script(update_run_source);
  return s;
}
const script& journal_steps_script() {
  static const script s = make_script(steps_source);
  return s;
}
const script& journal_runs_script() {
  static const script s = make_script(runs_source);
  return s;
}
const script& journal_prune_script() {
  static const script s = make_script(prune_source);
  return s;
}
const script& journal_hold_script() {
  static const script s = make_script(hold_source);
  return s;
}
const script& journal_claim_script() {
  static const script s = make_script(claim_source);
  return s;
}
const script& journal_request_cancel_script() {
  static const script s = make_script(request_cancel_source);
  return s;
}
const script& journal_note_takeover_script() {
  static const script s = make_script(note_takeover_source);
  return s;
}
const script& journal_release_script() {
  static const script s = make_script(release_source);
  return s;
}

}  // namespace conclave::redis
