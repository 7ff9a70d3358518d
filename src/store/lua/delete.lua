-- Deletes the room, whatever its state. ARGV: user_id.
-- Answers {'OK', released members {user, seq, ...}}.
local user = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('HGET', KEYS[1], 'anchor_id') ~= user then return {'FORBIDDEN'} end
local now = now_ms()
local out = {}
if redis.call('HGET', KEYS[1], 'live_status') == '2' then
  emit(now, 'live_ended', {reason = 'deleted'})
else
  out = end_room(now, 'deleted')
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
-- The event log outlives the room a while, so that watchers and webhooks learn of the delete.
redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[2]))
return {'OK', out}
