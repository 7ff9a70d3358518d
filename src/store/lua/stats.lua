--! KEYS: (lib.lua)
-- A room's figures for the platform's backend (server API). Reads only.
-- KEYS: the room's (lib.lua). ARGV: window_ms.
-- Answers {'OK', live_status, pv, start_time, end_time, started_ms, ended_ms, ended_reason,
--          peak, online, uv, now ms, likes}.
local window = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'live_status', 'pv', 'start_time', 'end_time',
  'started_ms', 'ended_ms', 'ended_reason', 'peak', 'likes')
if not h[1] then return {'NOT_FOUND'} end
local now = now_ms()
local online = present_count(now, window)
local uv = redis.call('PFCOUNT', KEYS[5])
return {'OK', h[1], h[2] or '0', h[3] or '0', h[4] or '0', h[5] or '0', h[6] or '0', h[7] or '',
  h[8] or '0', online, uv, now, h[9] or '0'}
