--! KEYS: (lib.lua)
-- The media server asks whether the room's stream may publish (on publish), or says that it
-- still does (periodic update). ARGV: window_ms, expires_at (unix seconds; 0: not checked).
-- Allowed for an existing room that has not ended and, when expires_at is given, before it by
-- Redis's clock. While the stream publishes the anchor counts as present: this is an anchor
-- heartbeat (presence key for one window, and anchor_seen, which the offline close reads).
-- Answers {'OK', events written, ms until the room must come due (-1), 1 when stream_status
-- changed (the room's list card shows it)}, {'NOT_FOUND'} or {'CONFLICT', why}.
local window, expires_at = tonumber(ARGV[1]), tonumber(ARGV[2])
local status = redis.call('HGET', KEYS[1], 'live_status')
if not status then return {'NOT_FOUND'} end
if status == '2' then return {'CONFLICT', 'the live has ended'} end
local now = now_ms()
if expires_at > 0 and math.floor(now / 1000) >= expires_at then
  return {'CONFLICT', 'the push URL has expired'}
end
local changed = redis.call('HGET', KEYS[1], 'stream_status') ~= '1' and 1 or 0
if changed == 1 then redis.call('HSET', KEYS[1], 'stream_status', '1') end
anchor_beat(now, window)
return {'OK', written.events, written.due_in, changed}
