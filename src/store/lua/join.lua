--! KEYS: (lib.lua)
-- A user joins (or re-joins) the room. ARGV: user_id, seq, "imid\tprofile json", window_ms,
-- the room's shards as the caller routed the join by them (store/shards.rs: a room whose
-- count changed since answers SHARDS and the count, and the caller routes again), and in a
-- sharded room the join's number (join_number.lua), which files the member in the join order
-- in place of the room's own pv (the shards share the numbers: shard_page.lua).
-- The entry keeps the room's pv at the join (`seq:pv`), the member's place in the join order.
-- seq orders this user's joins and leaves across rooms (see store/presence.rs): an entry
-- written by a later seq wins, so a join that lost a race is superseded, not applied.
-- Answers the view, then 1 when this made the room non-empty (0 otherwise), then 1 when this
-- was a new visit (a member more online), then in how many ms the room must come due (-1: no
-- need; see lib.lua count_event and anchor_beat), then 1 when the online count was said
-- (the caller refreshes the room's card), then the room's share of the online total (count,
-- version: lib.lua online_share).
local user, seq, profile, window = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local head = redis.call('HMGET', KEYS[1], 'live_status', 'shards')
local status = head[1]
if not status then return {'NOT_FOUND'} end
local shards = tonumber(head[2]) or 1
if shards ~= (tonumber(ARGV[5]) or 1) then return {'SHARDS', shards} end
if status == '2' then return {'CONFLICT', 'the live has ended; it cannot be joined'} end
local now = now_ms()
-- a ban (kick.lua; KEYS[10]) still running refuses the join
local banned = tonumber(redis.call('ZSCORE', KEYS[10], user))
if banned and banned > now then return {'BANNED', banned} end
local first, fresh = 0, 0
if entry_seq(entry_get(user)) <= seq then
  local last = redis.call('ZSCORE', KEYS[2], user)
  if not (last and is_present(last, now, window)) then
    -- a new visit, counted once; re-joining the room one is in is only a heartbeat
    if last then
      drop_member(now, user, entry_seq(entry_get(user)), 'lapsed', last)
    else
      fresh = 1
    end
    if redis.call('ZCARD', KEYS[2]) == 0 then first = 1 end
    local pv = redis.call('HINCRBY', KEYS[1], 'pv', 1)
    if ARGV[6] then pv = tonumber(ARGV[6]) end
    redis.call('PFADD', KEYS[5], user)
    order_push(user, pv)
    redis.call('ZADD', KEYS[2], now, user)
    redis.call('HINCRBY', KEYS[1], 'mver', 1)
    entry_set(user, seq .. ':' .. pv .. '\t' .. entry_tail(profile))
    emit(now, 'member_joined', {user_id = user})
    count_event(now, window)
    -- the highest online count of the live (stats)
    if status == '1' then
      local online = present_count(now, window)
      if online > (tonumber(redis.call('HGET', KEYS[1], 'peak')) or 0) then
        redis.call('HSET', KEYS[1], 'peak', online)
      end
    end
  else
    -- a member an open stream carries keeps its carrier's mark (lib.lua)
    if tonumber(last) < CARRIED_BASE then redis.call('ZADD', KEYS[2], now, user) end
    -- the member keeps their place in the join order
    local pv = entry_pv(entry_get(user))
    entry_set(user, seq .. (pv and (':' .. pv) or '') .. '\t' .. entry_tail(profile))
  end
  if redis.call('HGET', KEYS[1], 'anchor_id') == user then anchor_beat(now, window) end
end
local view = room_view(now, window)
view[#view + 1] = first
view[#view + 1] = fresh
view[#view + 1] = written.due_in
view[#view + 1] = written.announced
return with_share(view)
