--! KEYS: [streams]...
-- A replica's open event streams renew their slots together (fanout.rs `Hub::renew_slots`):
-- one call for many streams instead of one per stream. KEYS: per stream the user's open-streams
-- zset (sse_slot.lua), on one node: any users on a single Redis, one slot's on a Cluster.
-- ARGV: ttl_ms, then per stream its id (the i-th for KEYS[i]). Each is sse_slot.lua's renew:
-- the slot is held another ttl_ms (Redis clock), and the key lives as long as its latest slot.
-- O(1) per stream (one ZADD, one PEXPIRE). Answers the number of slots renewed.
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, expiry, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS
