-- The sweeper's report of rooms' member counts, kept per room and as one total, so that the
-- number of members online is one GET (a gauge for /metrics), never a scan.
-- KEYS[1] counts by room (hash), KEYS[2] the total. ARGV: live_id, count, live_id, count, ...
local delta = 0
for i = 1, #ARGV, 2 do
  local id, count = ARGV[i], tonumber(ARGV[i + 1])
  local old = tonumber(redis.call('HGET', KEYS[1], id)) or 0
  if count == 0 then redis.call('HDEL', KEYS[1], id) else redis.call('HSET', KEYS[1], id, count) end
  delta = delta + count - old
end
if delta ~= 0 then return redis.call('INCRBY', KEYS[2], delta) end
return tonumber(redis.call('GET', KEYS[2])) or 0
