--! KEYS: (lib.lua)
-- Kicks a user out of the room, and bans them for a while. KEYS: the room's (lib.lua), KEYS[10]
-- the room's bans (zset: user -> end of the ban, ms, Redis clock).
-- ARGV: actor user_id, '1' when the actor is an admin, target user_id, ban ms (0: no ban),
--       window_ms, most bans a room may hold.
-- O(1) in the room's crowd: one member removed; expired bans are dropped 100 at most per call.
-- Answers {'OK', 1 when a member was removed (0 otherwise), the member's seq (for the release of
-- its user pointer), end of the ban ms (0: none), ms until the room must come due (-1), anchor,
-- the room's share of the online total: count, version}.
local actor, admin, target = ARGV[1], ARGV[2] == '1', ARGV[3]
local ban_ms, window, max_bans = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local room = redis.call('HMGET', KEYS[1], 'live_status', 'anchor_id')
local status, anchor = room[1], room[2]
if not status then return {'NOT_FOUND'} end
if not admin and anchor ~= actor then return {'FORBIDDEN'} end
if target == anchor then
  return {'INVALID', "user_id: the room's anchor cannot be kicked from its own room"}
end
local now = now_ms()
local ban_end = 0
if ban_ms > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[10], '-inf', now, 'LIMIT', 0, 100)
  if #expired > 0 then redis.call('ZREM', KEYS[10], unpack(expired)) end
  if not redis.call('ZSCORE', KEYS[10], target)
    and redis.call('ZCARD', KEYS[10]) >= max_bans then
    return {'QUOTA', 'a room may hold at most ' .. max_bans ..
      ' bans at once; lift one (DELETE /client/live/room/ban/{live_id}/{user_id}) or wait for one to end'}
  end
  ban_end = now + ban_ms
  redis.call('ZADD', KEYS[10], ban_end, target)
  -- the set expires with its last ban: bans end on their own, and so does the key
  local last = redis.call('ZRANGE', KEYS[10], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[10], tonumber(last[2]) + 1000)
end
local removed, seq = 0, 0
local last = redis.call('ZSCORE', KEYS[2], target)
if last then
  seq = entry_seq(entry_get(target))
  if is_present(last, now, window) then
    drop_member(now, target, seq, 'kicked', last)
  else
    drop_member(now, target, seq, 'lapsed', last)
  end
  -- the entry says the kick removed the member at this seq, for a replay of the kick's
  -- follow-ups (store/intents.rs `kicked_seq`); a join replaces it
  entry_set(target, seq .. '\tkicked')
  count_event(now, window)
  removed = 1
end
return with_share({'OK', removed, seq, ban_end, written.due_in, anchor})
