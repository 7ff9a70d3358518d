--! KEYS: room members order entries uv anchor events leaving leaving_entries bans seat_requests
-- The anchor answers a pending seat request of an `apply` room. ARGV: actor user_id, target
-- user_id, '1' accept / '0' reject, window_ms, the configured seat count, request lapse ms.
-- Accept: the lowest free seat, {'TAKEN', seat, since ms, mic, camera} (seat_taken). Reject:
-- {'REJECTED'}, the request gone (no event: the contract's events have none for it).
-- Refusals: NOT_FOUND, FORBIDDEN (not the anchor), CONFLICT (not live), SEAT (no pending
-- request: never made, answered, lapsed, or its asker is no longer a member; already seated; no
-- free seat).
local actor, target, accept = ARGV[1], ARGV[2], ARGV[3] == '1'
local window, default_count, lapse_ms = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local room = redis.call('HMGET', KEYS[1], 'live_status', 'anchor_id')
if not room[1] then return {'NOT_FOUND'} end
if room[2] ~= actor then return {'FORBIDDEN'} end
if room[1] ~= '1' then return {'CONFLICT', 'seats are taken only while the room is live'} end
local now = now_ms()
local request = live_requests(now, lapse_ms, window)[target]
if not request then
  return {'SEAT', 'no pending seat request of ' .. target ..
    ' (never asked, answered, lapsed, or no longer in the room)'}
end
redis.call('HDEL', KEYS[11], target)
if not accept then return {'REJECTED'} end
local held = redis.call('HGET', KEYS[1], 'seat@' .. target)
if held then return {'SEAT', target .. ' is already on seat ' .. held} end
local count = seat_count(default_count)
local n = free_seat(count, now, window)
if not n then return {'SEAT', 'no free seat: all ' .. count .. ' seats are taken'} end
local _, mic, camera, extends = string.match(request, '^(%d+)\t([01])\t([01])\t(.*)$')
mic, camera, extends = mic or '1', camera or '1', extends or '{}'
return {'TAKEN', n, seat_take(now, n, target, mic, camera, extends), mic, camera}
