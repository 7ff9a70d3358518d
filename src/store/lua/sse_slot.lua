--! KEYS: streams
-- A user's open event streams, over all replicas. KEYS[1]: zset stream id -> expiry ms (Redis
-- clock), in the user's hash tag. ARGV: op (open | renew | close), stream id, cap (0: none),
-- ttl_ms. A stream's slot is renewed while it lives (its replica renews all its streams' slots
-- together, sse_renew.lua; `renew` here is what older replicas send); a replica that died
-- leaves slots that lapse after ttl_ms. At most `cap` entries are ever kept, so every call is
-- bounded.
-- open answers {1, 0} or {0, ms until the soonest slot lapses}; renew and close answer {1, 0}.
local op, id, cap, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if op == 'close' then
  redis.call('ZREM', KEYS[1], id)
  return {1, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if op == 'open' and cap > 0 and redis.call('ZSCORE', KEYS[1], id) == false
    and redis.call('ZCARD', KEYS[1]) >= cap then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(0, (tonumber(soonest[2]) or now) - now)}
end
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, 0}
