--! KEYS: (lib.lua)
-- The sweeper's close of a live room whose anchor has been silent for close_ms.
-- Conditional, so that any number of replicas sweeping at once close the room once.
-- ARGV: window_ms, close_ms.
-- Answers {'GONE'} (not live any more), {'LATER', deadline} or the view plus the number of
-- members the room held (they are released in the background: sweep_room.lua).
local window, close_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
if redis.call('HGET', KEYS[1], 'live_status') ~= '1' then return {'GONE'} end
local now = now_ms()
local deadline = close_deadline(close_ms)
if deadline > now then return {'LATER', deadline} end
local held = end_room(now, 'anchor_offline')
local view = room_view(now, window)
view[#view + 1] = held
return view
