--! KEYS: (lib.lua)
-- Deletes the room, whatever its state. ARGV: user_id, event log TTL ms, '1' when an admin
-- deletes it (any room). KEYS[10]: the room's bans, which go with it.
-- O(1) whatever the crowd: the room's own keys go (UNLINK frees big ones off the main thread),
-- its members are set aside (KEYS[8], KEYS[9]) for the sweeper to release in batches, and its
-- entries wait for the sweeper too when they have more than one bucket (lib.lua).
-- Answers {'OK', members the room held (0 when it had ended already), the room's anchor,
-- 1 when the room's sweep has work left (members or entries set aside)}.
local user, admin = ARGV[1], ARGV[3] == '1'
local anchor = redis.call('HGET', KEYS[1], 'anchor_id')
if not anchor then return {'NOT_FOUND'} end
if not admin and anchor ~= user then return {'FORBIDDEN'} end
local now = now_ms()
local held = 0
if redis.call('HGET', KEYS[1], 'live_status') == '2' then
  emit(now, 'live_ended', {reason = 'deleted'})
else
  held = end_room(now, 'deleted')
end
local aside = set_entries_aside()
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[10])
-- The event log outlives the room a while, so that watchers and webhooks learn of the delete.
redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[2]))
return {'OK', held, anchor, aside and 1 or 0}
