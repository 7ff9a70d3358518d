--! KEYS: open_rooms open_reserved
-- The anchor's open-rooms quota (CONTRACT section 8), in the anchor's slot: KEYS[1] the set of
-- the anchor's rooms not ended, KEYS[2] the reservations of rooms being created (zset:
-- live_id -> deadline ms). ARGV: op, live_id, limit, reservation ttl ms.
--   'reserve': takes a slot for live_id before the room exists, if the rooms not ended plus the
--              live reservations stay under the limit; answers {'QUOTA', open} when they do not.
--   'open':    the room exists and is not ended: its reservation becomes membership.
--   'closed':  the room ended, is gone, or was never created: slot and reservation released.
-- Each op is idempotent (the follow-ups of a room replay them from the room's state). A
-- reservation whose create died is released by the room's follow-ups or, at the latest, lapses
-- at its deadline. Bounded: the reservations are at most `limit`; a call prunes at most 16.
local op, id = ARGV[1], ARGV[2]
if op == 'open' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('SADD', KEYS[1], id)
  return {'OK'}
elseif op == 'closed' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('SREM', KEYS[1], id)
  return {'OK'}
end
local limit, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 16)
if #lapsed > 0 then redis.call('ZREM', KEYS[2], unpack(lapsed)) end
local taken = redis.call('SCARD', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')
if redis.call('ZSCORE', KEYS[2], id) then return {'OK'} end
if taken >= limit then return {'QUOTA', tostring(taken)} end
redis.call('ZADD', KEYS[2], now + ttl, id)
return {'OK'}
