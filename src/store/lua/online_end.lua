--! KEYS: online_total online_ended
-- Takes the members an ended room held off the platform's online total, once per room however
-- often its follow-ups are replayed (a room ends once); and a kicked member, once per kick.
-- KEYS[1] the total, KEYS[2] what it counted (zset: live_id, or live_id TAB 'kick' TAB user TAB
-- seq -> when the record may go). ARGV: that record, held, keep_ms.
-- Bounded: at most 16 records past their time are dropped per call. Answers 1 when counted now.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 16)
if #old > 0 then redis.call('ZREM', KEYS[2], unpack(old)) end
if redis.call('ZADD', KEYS[2], 'NX', now + tonumber(ARGV[3]), ARGV[1]) == 0 then return 0 end
redis.call('DECRBY', KEYS[1], tonumber(ARGV[2]))
return 1
