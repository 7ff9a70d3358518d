--! KEYS: room members order entries uv anchor events leaving leaving_entries bans seat_requests
-- A member asks for a co-host seat. ARGV: user_id, window_ms, the configured seat count, mic
-- ('1'/'0'), camera ('1'/'0'), extends json, request lapse ms, most pending requests a room
-- may hold.
-- `free` rooms: the lowest free seat at once, {'TAKEN', seat, since ms}. `apply` rooms: the
-- request waits for the anchor, {'PENDING', asked ms}, and seat_requested tells the room.
-- Refusals: NOT_FOUND, CONFLICT (not live), NOT_MEMBER, SEAT (the anchor, already seated, already
-- asked, no free seat), QUOTA (the room's pending requests are full).
local user, window, default_count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local mic, camera, extends = ARGV[4], ARGV[5], ARGV[6]
local lapse_ms, max_pending = tonumber(ARGV[7]), tonumber(ARGV[8])
local room = redis.call('HMGET', KEYS[1], 'live_status', 'anchor_id', 'seat_mode')
if not room[1] then return {'NOT_FOUND'} end
if room[1] ~= '1' then return {'CONFLICT', 'seats are taken only while the room is live'} end
if room[2] == user then return {'SEAT', "the room's anchor is on the stream already: it takes no seat"} end
local now = now_ms()
if not present(user, now, window) then return {'NOT_MEMBER'} end
local held = redis.call('HGET', KEYS[1], 'seat@' .. user)
if held then return {'SEAT', 'already on seat ' .. held} end
local count = seat_count(default_count)
local n = free_seat(count, now, window)
if not n then return {'SEAT', 'no free seat: all ' .. count .. ' seats are taken'} end
if room[3] ~= 'apply' then
  return {'TAKEN', n, seat_take(now, n, user, mic, camera, extends)}
end
local pending = live_requests(now, lapse_ms, window)
if pending[user] then return {'SEAT', 'already asked for a seat: the anchor has not answered yet'} end
if redis.call('HLEN', KEYS[11]) >= max_pending then
  return {'QUOTA', 'a room holds at most ' .. max_pending ..
    ' pending seat requests; try again when the anchor has answered some'}
end
redis.call('HSET', KEYS[11], user, table.concat({tostring(now), mic, camera, extends}, '\t'))
redis.call('PEXPIRE', KEYS[11], lapse_ms)
emit(now, 'seat_requested', {user_id = user, mic = mic == '1', camera = camera == '1'})
return {'PENDING', now}
