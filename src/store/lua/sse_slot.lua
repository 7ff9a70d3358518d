--! KEYS: streams
-- A user's open event streams, over all replicas. KEYS[1]: zset stream id -> expiry ms (Redis
-- clock), in the user's hash tag. ARGV: op (open | renew | close | reap), stream id, cap (0:
-- none), ttl_ms, then for reap the ids to remove. A stream's id is `<replica token>.<n>`: its
-- replica renews all its streams' slots together (sse_renew.lua; `renew` here is what older
-- replicas send) and keeps a lease (`replica:{token}`) while it lives; a replica that died
-- leaves slots that the next open at the cap reaps once its lease is gone (`reap`, after the
-- caller saw the leases), and that lapse after ttl_ms in any case. At most `cap` entries are
-- kept, so every call is bounded.
-- open answers {1, 0} or {0, ms until the soonest slot lapses, the ids holding slots (at most
-- 64)}; renew and close answer {1, 0}; reap {1, slots removed}.
local op, id, cap, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if op == 'close' then
  redis.call('ZREM', KEYS[1], id)
  return {1, 0}
end
if op == 'reap' then
  local removed = 0
  for i = 5, #ARGV do
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
  return {1, removed}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if op == 'open' and cap > 0 and redis.call('ZSCORE', KEYS[1], id) == false
    and redis.call('ZCARD', KEYS[1]) >= cap then
  local held = redis.call('ZRANGE', KEYS[1], 0, 63, 'WITHSCORES')
  local answer = {0, math.max(0, (tonumber(held[2]) or now) - now)}
  for i = 1, #held, 2 do
    answer[#answer + 1] = held[i]
  end
  return answer
end
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, 0}
