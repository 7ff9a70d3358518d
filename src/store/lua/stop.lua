--! KEYS: (lib.lua)
-- Stops the live (1 -> 2). ARGV: user_id, window_ms, '1' when an admin stops it (any room;
-- `reason: admin`). O(1) whatever the crowd: the members are
-- set aside and released in the background (sweep_room.lua).
-- Answers the view and the number of members the room held.
local user, window, admin = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local status = redis.call('HGET', KEYS[1], 'live_status')
if not status then return {'NOT_FOUND'} end
if not admin and redis.call('HGET', KEYS[1], 'anchor_id') ~= user then return {'FORBIDDEN'} end
if status ~= '1' then
  if status == '0' then return {'CONFLICT', 'the live has not started'} end
  return {'CONFLICT', 'the live has already ended'}
end
local now = now_ms()
local held = end_room(now, admin and 'admin' or 'stopped')
local view = room_view(now, window)
view[#view + 1] = held
return view
