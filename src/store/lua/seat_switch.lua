--! KEYS: room members order entries uv anchor events leaving leaving_entries bans seat_requests
-- Mic and camera of a seat. ARGV: actor user_id, target user_id, mic, camera (each '1', '0' or
-- '' for unchanged). The seated user sets its own; the anchor may only turn them off.
-- Answers {'OK', seat, mic, camera} (seat_updated when something changed); NOT_FOUND, FORBIDDEN,
-- INVALID (the anchor turning one on), SEAT (the target is not on a seat).
local actor, target, mic, camera = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local anchor = redis.call('HGET', KEYS[1], 'anchor_id')
if not anchor then return {'NOT_FOUND'} end
if actor ~= target then
  if anchor ~= actor then return {'FORBIDDEN'} end
  if mic == '1' or camera == '1' then
    return {'INVALID', "mic, camera: the anchor may only turn a seated user's mic or camera off"}
  end
end
local n = redis.call('HGET', KEYS[1], 'seat@' .. target)
if not n then
  if actor == target then return {'SEAT', 'not on a seat'} end
  return {'SEAT', target .. ' is not on a seat'}
end
local raw = redis.call('HGET', KEYS[1], 'seat:' .. n) or ''
local user, was_mic, was_camera, since, extends =
  string.match(raw, '^([^\t]*)\t([01])\t([01])\t(%d+)\t(.*)$')
if not user then return {'SEAT', target .. ' is not on a seat'} end
local new_mic = mic ~= '' and mic or was_mic
local new_camera = camera ~= '' and camera or was_camera
if new_mic ~= was_mic or new_camera ~= was_camera then
  redis.call('HSET', KEYS[1], 'seat:' .. n,
    table.concat({user, new_mic, new_camera, since, extends}, '\t'))
  emit(now_ms(), 'seat_updated', {user_id = user, seat = tonumber(n),
    mic = new_mic == '1', camera = new_camera == '1'})
end
return {'OK', tonumber(n), new_mic, new_camera}
