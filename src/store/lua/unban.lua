--! KEYS: (lib.lua)
-- Lifts a ban. KEYS: the room's (lib.lua), KEYS[10] the room's bans.
-- ARGV: actor user_id, '1' when the actor is an admin, target user_id.
-- Answers {'OK', 1 when a ban was lifted (0: there was none)}.
local actor, admin, target = ARGV[1], ARGV[2] == '1', ARGV[3]
local anchor = redis.call('HGET', KEYS[1], 'anchor_id')
if not anchor then return {'NOT_FOUND'} end
if not admin and anchor ~= actor then return {'FORBIDDEN'} end
return {'OK', redis.call('ZREM', KEYS[10], target)}
