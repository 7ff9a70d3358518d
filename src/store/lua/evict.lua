-- A user leaves the room (by leave, or by joining another). ARGV: user_id, seq.
-- Answers {'OK', 1} when the user was removed, {'OK', 0} when there was nothing to do.
local user, seq = ARGV[1], tonumber(ARGV[2])
local status = redis.call('HGET', KEYS[1], 'live_status')
if not status then return {'NOT_FOUND'} end
if status == '2' then return {'OK', 0} end
if entry_seq(redis.call('HGET', KEYS[4], user)) > seq then return {'OK', 0} end
local was = redis.call('ZSCORE', KEYS[2], user)
drop_member(user, seq)
if was then return {'OK', 1} end
return {'OK', 0}
