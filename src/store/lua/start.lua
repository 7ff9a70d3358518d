--! KEYS: (lib.lua)
-- Starts the live (0 -> 1); on a live room it is a heartbeat of the anchor and answers the room.
-- ARGV: user_id, window_ms, close_ms. Answers the view, the offline-close deadline, and in how
-- many ms the room must come due (-1: no need).
local user, window, close_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local status = redis.call('HGET', KEYS[1], 'live_status')
if not status then return {'NOT_FOUND'} end
if redis.call('HGET', KEYS[1], 'anchor_id') ~= user then return {'FORBIDDEN'} end
if status == '2' then return {'CONFLICT', 'the live has ended and cannot be started again'} end
local now = now_ms()
if status == '0' then
  redis.call('HSET', KEYS[1], 'live_status', '1', 'start_time', math.floor(now / 1000), 'started_ms', now)
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
  emit(now, 'live_started')
  -- the members who waited in the created room open the live's peak (stats; join.lua keeps it)
  redis.call('HSET', KEYS[1], 'peak', present_count(now, window))
end
anchor_beat(now, window)
local view = room_view(now, window)
view[#view + 1] = close_deadline(close_ms)
view[#view + 1] = written.due_in
return view
