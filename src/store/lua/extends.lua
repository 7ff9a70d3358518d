--! KEYS: (lib.lua)
-- Replaces the room's extends. ARGV: user_id, window_ms, extends JSON.
local user, window, extends = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('HGET', KEYS[1], 'anchor_id') ~= user then return {'FORBIDDEN'} end
redis.call('HSET', KEYS[1], 'extends', extends)
-- list rows show the extends (issue 18: the room's card follows its version)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
local now = now_ms()
-- The event stays small whatever the extends (a log's bytes are bounded, not only its length):
-- extends up to EVENT_LOG.extends_max bytes (LIVEROOM_EVENT_EXTENDS_MAX_BYTES) ride along;
-- larger ones are only announced, with their size, and watchers read the room's info.
if #extends <= EVENT_LOG.extends_max then
  emit(now, 'extends_updated', {extends = cjson.decode(extends)})
else
  emit(now, 'extends_updated', {extends_bytes = #extends})
end
return room_view(now, window)
