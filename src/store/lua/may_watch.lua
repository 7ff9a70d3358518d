--! KEYS: (lib.lua)
-- Whether a user may watch the room's events: its anchor, or a present member.
-- ARGV: user_id, window_ms.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('HGET', KEYS[1], 'anchor_id') == ARGV[1] then return {'OK'} end
local last = redis.call('ZSCORE', KEYS[2], ARGV[1])
if is_present(last, now_ms(), tonumber(ARGV[2])) then return {'OK'} end
return {'NOT_MEMBER'}
