-- The sweeper's pass over a room: trims lapsed members, says that the anchor went offline when
-- its presence lapsed, and sends the online_count a burst left unsaid. ARGV: window_ms.
-- Answers {'OK', members left, {user, seq, ...} removed, events written (0/1)}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'OK', 0, {}, 0} end
local window = tonumber(ARGV[1])
local now = now_ms()
local removed = trim_lapsed(now, window)
if redis.call('HGET', KEYS[1], 'anchor_on') == '1' and redis.call('EXISTS', KEYS[6]) == 0 then
  redis.call('HSET', KEYS[1], 'anchor_on', '0')
  emit(now, 'anchor_offline')
end
if redis.call('HGET', KEYS[1], 'live_status') ~= '2' then count_event(now, window) end
return {'OK', redis.call('ZCARD', KEYS[2]), removed, written.events}
