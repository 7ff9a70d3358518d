--! KEYS: (lib.lua)
-- One room as it is now. ARGV: window_ms.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
return room_view(now_ms(), tonumber(ARGV[1]))
