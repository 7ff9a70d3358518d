--! KEYS: (lib.lua)
-- Spreads the room's members over `shards` rooms of members (issue 27; docs/architecture.md,
-- *Members over S hash tags*): the room itself and shards − 1 shard rooms in other hash tags.
-- Only before the room's first member: a member's shard is computed from the count, by any
-- replica without a read, so the count never changes once a member could have been routed by
-- it (`pv` counts the room's own joins, `jn` the joins routed to its shards).
-- ARGV: shards. Answers {'OK', shards}, NOT_FOUND, or CONFLICT (ended, or members had joined).
local shards = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'live_status', 'pv', 'jn', 'shards')
if not h[1] then return {'NOT_FOUND'} end
if (tonumber(h[4]) or 1) == shards then return {'OK', shards} end
if h[1] == '2' then return {'CONFLICT', 'the live has ended; its shards are fixed'} end
if (tonumber(h[2]) or 0) > 0 or (tonumber(h[3]) or 0) > 0 or redis.call('EXISTS', KEYS[2]) == 1 then
  return {'CONFLICT', 'members have joined the room; its shards are fixed'}
end
redis.call('HSET', KEYS[1], 'shards', shards)
return {'OK', shards}
