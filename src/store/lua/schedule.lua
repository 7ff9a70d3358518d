--! KEYS: sweep_due sweep_claims
-- Brings a room's next sweep forward: the room comes due in at most delay_ms (never later than
-- it already was: ZADD LT). KEYS[1] the schedule (zset: live_id -> due ms), KEYS[2] the claims
-- (hash: live_id -> token of the replica sweeping it). ARGV: live_id, delay_ms.
-- A room being swept while this runs is marked dirty, so that the sweeper looks at it again
-- instead of parking it on what it saw before this change.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'LT', now + tonumber(ARGV[2]), ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], 'dirty') end
return 1
