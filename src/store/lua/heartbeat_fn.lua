-- A room's live_status and anchor_id, read once per call and room: no heartbeat changes them,
-- so a batch of a hot room's heartbeats (heartbeat_batch.lua) reads them once, not per beat.
local room_heads = {}
local function room_head()
  local head = room_heads[K[1]]
  if not head then
    head = redis.call('HMGET', K[1], 'live_status', 'anchor_id')
    room_heads[K[1]] = head
  end
  return head
end

-- A member's or the anchor's heartbeat, in the room `K` names (lib.lua): the body of
-- heartbeat.lua and heartbeat_batch.lua. Takes user_id, "profile json" ('' when the replica
-- sent this profile before: store/heartbeats.rs), window_ms.
-- Never creates a member: a lapsed or departed user answers NOT_MEMBER and must join again.
-- Never touches the schedule of lapses: a heartbeat only makes a lapse later.
-- Answers {'OK', live_status, anchor profile changed (0/1), events written (0/1), lapsed member
-- dropped (0/1), ms until the room must come due (-1: nothing to schedule)} or
-- {'NOT_MEMBER', dropped (0/1), ms until due}, or {'NOT_FOUND'}.
local function heartbeat(user, profile, window)
  local room = room_head()
  local status = room[1]
  if not status then return {'NOT_FOUND'} end
  if status == '2' then return {'OK', 2, 0, 0, 0, -1} end
  local now = now_ms()
  local is_anchor = room[2] == user
  local changed = 0
  if is_anchor then
    anchor_beat(now, window)
    if profile ~= '' and redis.call('HGET', K[1], 'anchor_profile') ~= profile then
      redis.call('HSET', K[1], 'anchor_profile', profile)
      redis.call('HINCRBY', K[1], 'ver', 1)
      changed = 1
    end
  end
  local last = redis.call('ZSCORE', K[2], user)
  if last and is_present(last, now, window) then
    -- a member an open stream carries keeps its carrier's mark (lib.lua): the stream carries it
    if tonumber(last) < CARRIED_BASE then redis.call('ZADD', K[2], now, user) end
    if profile ~= '' then refresh_profile(user, profile) end
    return {'OK', tonumber(status), changed, written.events, 0, written.due_in}
  end
  local dropped = 0
  if last then
    drop_member(now, user, entry_seq(entry_get(user)), 'lapsed', last)
    count_event(now, window)
    dropped = 1
  end
  -- a lapsed member removed: the answer carries the room's share of the online total
  local answer = {'NOT_MEMBER', dropped, written.due_in}
  if is_anchor then answer = {'OK', tonumber(status), changed, written.events, dropped, written.due_in} end
  if dropped == 1 then return with_share(answer) end
  return answer
end
