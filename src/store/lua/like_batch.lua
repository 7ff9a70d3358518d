--! KEYS: [room members events likes]...
-- The likes that reached one replica at once, in one call (store/likes.rs; the batching of
-- store/batch.rs, as heartbeats). O(1) per like whatever the room's crowd: one ZSCORE, two
-- HINCRBYs, and per room one likes event at most.
-- KEYS: per room the four keys a like touches (Keys::like_room), on one node: one room on a
-- Redis Cluster, any rooms on a single Redis.
-- ARGV: window_ms, likers_max (distinct likers a room keeps totals for), likes_ttl_ms (the
-- per-user totals go this long after the room's last like), then per like three: the room's
-- place among the KEYS (1 = KEYS[1..4]), user_id, count.
-- Answers per like, in order: {'OK', room total, the user's own total}, 'NOT_FOUND',
-- {'CONFLICT', why} (not live: checked first), 'NOT_MEMBER', {'QUOTA', why}; then, last, per
-- room liked {place, due in ms (-1: nothing unsaid), events written}.
local window, likers_max, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local answers, touched, order = {}, {}, {}
local function point(place)
  local base = (place - 1) * 4
  -- lib.lua's places: K[1] room, K[2] members, K[7] events
  K = {KEYS[base + 1], KEYS[base + 2], nil, nil, nil, nil, KEYS[base + 3]}
  return KEYS[base + 4]
end
local function like(place, user, count)
  local likes = point(place)
  local h = redis.call('HMGET', K[1], 'live_status', 'anchor_id', 'shards')
  if not h[1] then return 'NOT_FOUND' end
  if h[1] ~= '1' then return {'CONFLICT', 'the room is not live'} end
  -- (a sharded room's likers are checked in their shard by the caller: store/likes.rs)
  if h[2] ~= user and (tonumber(h[3]) or 1) == 1 then
    local last = redis.call('ZSCORE', K[2], user)
    if not is_present(last, now, window) then return 'NOT_MEMBER' end
  end
  if redis.call('HEXISTS', likes, user) == 0 and redis.call('HLEN', likes) >= likers_max then
    return {'QUOTA', 'this room keeps the like totals of at most ' .. likers_max ..
      ' users; it has that many'}
  end
  local total = redis.call('HINCRBY', K[1], 'likes', count)
  local own = redis.call('HINCRBY', likes, user, count)
  redis.call('PEXPIRE', likes, ttl)
  if not touched[place] then touched[place] = true; order[#order + 1] = place end
  return {'OK', total, own}
end
for i = 4, #ARGV, 3 do
  answers[#answers + 1] = like(tonumber(ARGV[i]), ARGV[i + 1], tonumber(ARGV[i + 2]))
end
-- one likes event per room per call at most (and per second, lib.lua likes_event)
local rooms = {}
for _, place in ipairs(order) do
  point(place)
  written.due_in, written.events = -1, 0
  likes_event(now)
  rooms[#rooms + 1] = {place, written.due_in, written.events}
end
answers[#answers + 1] = rooms
return answers
