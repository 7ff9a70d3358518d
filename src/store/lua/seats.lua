--! KEYS: room members order entries uv anchor events leaving leaving_entries bans seat_requests
-- The room's taken seats, by seat number, with each holder's member entry (its profile). ARGV:
-- window_ms. A read: it never writes; a holder that lapsed and is not yet swept (the sweep frees
-- its seat within about a second) is left out.
-- Answers {'OK', anchor_id, live_status, {seat, raw seat, entry, ...}}; NOT_FOUND.
local window = tonumber(ARGV[1])
local room = redis.call('HMGET', KEYS[1], 'anchor_id', 'live_status', 'seats')
if not room[1] then return {'NOT_FOUND'} end
local now = now_ms()
local out = {}
for n = 1, tonumber(room[3]) or 0 do
  local raw = redis.call('HGET', KEYS[1], 'seat:' .. n)
  local user = seat_holder(raw)
  if user and present(user, now, window) then
    out[#out + 1] = n
    out[#out + 1] = raw
    out[#out + 1] = entry_get(user) or ''
  end
end
return {'OK', room[1], tonumber(room[2]), out}
