--! KEYS: room members order entries uv anchor events leaving leaving_entries bans seat_requests
-- A user leaves its seat (actor = target: `left`; a pending request is withdrawn instead when
-- it holds none), or the anchor or an admin takes someone off (`removed`). ARGV: actor user_id,
-- '1' when the actor is an admin, target user_id.
-- Answers {'OK', the seat freed (0: a pending request was withdrawn)}; NOT_FOUND, FORBIDDEN,
-- SEAT (not on a seat, nor asking).
local actor, admin, target = ARGV[1], ARGV[2] == '1', ARGV[3]
local anchor = redis.call('HGET', KEYS[1], 'anchor_id')
if not anchor then return {'NOT_FOUND'} end
local own = actor == target
if not own and not admin and anchor ~= actor then return {'FORBIDDEN'} end
local now = now_ms()
local n = seat_free(now, target, own and 'left' or 'removed')
if n > 0 then return {'OK', n} end
if own and redis.call('HDEL', KEYS[11], target) == 1 then return {'OK', 0} end
if own then return {'SEAT', 'not on a seat'} end
return {'SEAT', target .. ' is not on a seat'}
