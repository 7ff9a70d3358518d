--! KEYS: (lib.lua)
-- Creates a room. ARGV: window_ms, then field/value pairs of the room hash.
local window = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return {'CONFLICT'} end
local now = now_ms()
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[1], 'live_status', '0', 'created_ms', now, 'pv', 0, 'ver', 1)
return room_view(now, window)
