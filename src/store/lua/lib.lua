-- Shared by every per-room script (prepended when the scripts are loaded).
-- Per-room scripts all take the same KEYS, every one in the room's hash tag:
--   KEYS[1] room hash, KEYS[2] members (zset: user -> last heartbeat ms),
--   KEYS[3] join order (zset: user -> pv at join), KEYS[4] member entries
--   (hash: user -> "seq\timid\tprofile json", or "seq" alone once the user has gone),
--   KEYS[5] uv (HyperLogLog), KEYS[6] anchor presence (string with a TTL of one member window),
--   KEYS[7] the room's event log (stream, bounded).

-- Redis's clock, never a replica's: replicas with skewed clocks agree.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The room's event log: written by the same script that makes the change, so an event exists
-- if and only if its change happened. Bounded: SSE clients resume from it, webhooks drain it.
local EVENTS_MAXLEN = 1000

local function room_id()
  return string.match(KEYS[1], '{(.-)}')
end

-- How many events this run of the script wrote (a script may say so to its caller).
local written = {events = 0}

local function emit(now, etype, fields)
  written.events = written.events + 1
  local data = fields or {}
  data.live_id = room_id()
  data.type = etype
  data.at = now
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'type', etype, 'data', cjson.encode(data))
end

-- online_count events, coalesced: at most one a second per room, only when the count changed.
-- What a burst leaves unsaid is said by the sweeper's next pass (trim.lua).
local function count_event(now, window)
  local count = redis.call('ZCOUNT', KEYS[2], '(' .. (now - window), '+inf')
  local sent = redis.call('HMGET', KEYS[1], 'oc_sent', 'oc_at')
  if tonumber(sent[1]) == count then return end
  if now - (tonumber(sent[2]) or 0) < 1000 then return end
  redis.call('HSET', KEYS[1], 'oc_sent', count, 'oc_at', now)
  emit(now, 'online_count', {online_count = count})
end

-- The seq of the join or leave that last wrote this user's entry (0 when none).
local function entry_seq(entry)
  if not entry then return 0 end
  return tonumber(string.match(entry, '^(%d+)')) or 0
end

-- The room as every answer shows it.
local function room_view(now, window)
  local h = redis.call('HGETALL', KEYS[1])
  local online = redis.call('ZCOUNT', KEYS[2], '(' .. (now - window), '+inf')
  local uv = redis.call('PFCOUNT', KEYS[5])
  local anchor = redis.call('EXISTS', KEYS[6])
  return {'OK', h, online, uv, anchor}
end

-- The anchor was heard from: presence for one member window, and the clock of the offline close.
local function anchor_beat(now, window)
  redis.call('SET', KEYS[6], '1', 'PX', window)
  redis.call('HSET', KEYS[1], 'anchor_seen', now)
  if redis.call('HGET', KEYS[1], 'anchor_on') ~= '1' then
    redis.call('HSET', KEYS[1], 'anchor_on', '1')
    emit(now, 'anchor_online')
  end
end

-- Removes one member, keeping its seq so that a late, older join cannot bring it back.
local function drop_member(now, user, seq, reason)
  redis.call('ZREM', KEYS[2], user)
  redis.call('ZREM', KEYS[3], user)
  redis.call('HSET', KEYS[4], user, tostring(seq))
  emit(now, 'member_left', {user_id = user, reason = reason})
end

-- Members whose last heartbeat is a whole window old are gone: removed, and returned as
-- {user, seq, user, seq, ...} so that the caller can release their user pointers.
local function trim_lapsed(now, window)
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
  local out = {}
  for _, user in ipairs(lapsed) do
    local seq = entry_seq(redis.call('HGET', KEYS[4], user))
    drop_member(now, user, seq, 'lapsed')
    out[#out + 1] = user
    out[#out + 1] = tostring(seq)
  end
  return out
end

-- Ends a live room: status 2, end_time now, every member released.
-- Returns the released members as {user, seq, ...}.
local function end_room(now, reason)
  redis.call('HSET', KEYS[1], 'live_status', '2', 'end_time', math.floor(now / 1000),
    'ended_ms', now, 'ended_reason', reason)
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
  emit(now, 'live_ended', {reason = reason})
  local users = redis.call('ZRANGE', KEYS[2], 0, -1)
  local out = {}
  for _, user in ipairs(users) do
    out[#out + 1] = user
    out[#out + 1] = tostring(entry_seq(redis.call('HGET', KEYS[4], user)))
    emit(now, 'member_left', {user_id = user, reason = 'room_ended'})
  end
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  return out
end

-- The deadline of the anchor-offline close: last heard from + the close delay.
local function close_deadline(close_ms)
  local seen = tonumber(redis.call('HGET', KEYS[1], 'anchor_seen')) or 0
  return seen + close_ms
end
