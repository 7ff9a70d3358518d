--! KEYS: online_total online_rooms online_vers online_ended
-- A room's share of the platform's online total (docs/architecture.md, "Changes that span
-- slots"): the total is the sum of the rooms' last reported member counts, each report carrying
-- the version of the room's membership (`mver`, bumped by every change of its members set), so
-- that a replayed or late report changes nothing and a lost one is made good by the next (the
-- room's sweep reports it at every visit). KEYS[1] the total, KEYS[2] room -> count,
-- KEYS[3] room -> version, KEYS[4] rooms that ended (zset: live_id -> when the record may go).
-- ARGV: live_id, count (-1: the room ended or is gone: its share leaves the total for good),
-- version, keep_ms. Bounded: at most 16 ended records past their time dropped per call.
-- Answers 1 when the total took the report, 0 when it was older than what it has.
local id, count, ver = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local old = tonumber(redis.call('HGET', KEYS[2], id)) or 0
if count < 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 16)
  if #gone > 0 then redis.call('ZREM', KEYS[4], unpack(gone)) end
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), id)
  if old ~= 0 then redis.call('DECRBY', KEYS[1], old) end
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  return 1
end
if redis.call('ZSCORE', KEYS[4], id) then return 0 end
local known = tonumber(redis.call('HGET', KEYS[3], id))
if known and ver <= known then return 0 end
if count ~= old then redis.call('INCRBY', KEYS[1], count - old) end
if count == 0 then redis.call('HDEL', KEYS[2], id) else redis.call('HSET', KEYS[2], id, count) end
redis.call('HSET', KEYS[3], id, ver)
return 1
