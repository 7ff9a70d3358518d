--! KEYS: (lib.lua)
-- A user leaves the room (by leave, or by joining another). ARGV: user_id, seq, reason
-- ('left' | 'moved'), window_ms.
-- Answers {'OK', 1 when a member was removed from the members set (0 when there was nothing
-- to do), ms until the room must come due (-1: no need), 1 when the online count was said,
-- then when a member was removed the room's share of the online total: count, version}.
local user, seq, reason, window = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local status = redis.call('HGET', KEYS[1], 'live_status')
if not status then return {'NOT_FOUND'} end
if status == '2' then return {'OK', 0, -1} end
if entry_seq(entry_get(user)) > seq then return {'OK', 0, -1} end
local was = redis.call('ZSCORE', KEYS[2], user)
if not was then
  entry_set(user, tostring(seq))
  return {'OK', 0, -1}
end
local now = now_ms()
drop_member(now, user, seq, reason, was)
count_event(now, window)
return with_share({'OK', 1, written.due_in, written.announced})
