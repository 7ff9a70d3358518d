--! KEYS: room members order entries anchor events
-- Presence carried by open event streams (src/fanout.rs): one replica's lease in one room
-- (lib.lua, "Presence carried by a replica's open event streams"). One call per room per
-- heartbeat interval renews the replica's carrier entry, O(1) whatever the crowd, and in the
-- same call
--   1. the members whose last stream here closed since the last renewal go back to that
--      renewal (only while they still hold this carrier's mark): their window runs from it;
--   2. the carrier's list of members that went (left, kicked, moved, lapsed, taken over) is
--      popped and answered, so that the replica ends their streams;
--   3. the members whose streams started carrying them get this carrier's mark, once: a member
--      is never created (a leave, a kick or a lapse is final, as for a heartbeat), the room's
--      anchor is skipped (its presence is its own), a member another live carrier holds stays
--      with it unless that carrier missed its renewals for takeover_ms (the replica died or
--      stalls: this one takes it over before its lease lapses, and tells it). With no carrier
--      index free (CARRIER_SLOTS replicas carry in the room) each is heartbeat_fn.lua's heartbeat,
--      as before leases: the replica sends it again at every interval.
-- A carrier whose own lease ran out (the replica stalled a whole window) does not renew it: its
-- marks lapsed and are the sweep's; it carries afresh under a new index and says so.
-- KEYS: the six keys a heartbeat touches (heartbeat_batch.lua's group, one room).
-- ARGV: window_ms, takeover_ms, the replica's token, n, then n users to let go (step 1), then
-- per member to carry two: user_id, "profile json". At most a bounded number of each a call.
-- Answers {'NOT_FOUND'}, {'ENDED'}, or {'OK', index (-1: none free), 1 when it carries afresh
-- (every earlier mark of this replica's is void), the left list (lib.lua `cl:`), events written
-- (0/1), ms until the room must come due (-1), members dropped, {one word per member to carry:
-- CARRIED | ELSEWHERE | REFRESHED | ANCHOR | GONE}, the room's share: count, version}.
local window, takeover, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n_off = tonumber(ARGV[4])
K = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], nil, KEYS[5], KEYS[6]}
local head = room_head()
if not head[1] then return {'NOT_FOUND'} end
if head[1] == '2' then return {'ENDED'} end
local now = now_ms()
local since = now - window

-- this replica's carrier in the room
local c = tonumber(redis.call('HGET', K[1], 'cr@' .. token))
local renewed = c and carrier_renewal(c)
local fresh = 0
if c and not (renewed and renewed > since) then
  -- its lease ran out: its marks lapsed with it, the sweep finishes them under the old index
  redis.call('HDEL', K[1], 'cr@' .. token)
  redis.call('HSET', K[1], 'cr#' .. c, '')
  c = nil
end
if not c then
  fresh = 1
  local top = carriers()
  if top > 0 then
    local fields = {}
    for i = 0, top - 1 do fields[#fields + 1] = 'cr#' .. i end
    local owners = redis.call('HMGET', K[1], unpack(fields))
    for i = 0, top - 1 do
      if not owners[i + 1] then c = i; break end
    end
  end
  if not c and top < CARRIER_SLOTS then
    c = top
    redis.call('HSET', K[1], 'cr_n', top + 1)
  end
  if c then redis.call('HSET', K[1], 'cr@' .. token, c, 'cr#' .. c, token) end
end

-- 1. streams closed: back to the last renewal, if still carried here
if c and fresh == 0 then
  for i = 5, 4 + n_off do
    if tonumber(redis.call('ZSCORE', K[2], ARGV[i])) == CARRIED_BASE + c then
      redis.call('ZADD', K[2], 'XX', renewed, ARGV[i])
    end
  end
end

-- 2. the renewal, and what went since the last one
local left = ''
if c then
  redis.call('HSET', K[1], 'cr:' .. c, now)
  carrier_renewals[K[1] .. '\n' .. c] = now
  left = redis.call('HGET', K[1], 'cl:' .. c) or ''
  if left ~= '' then redis.call('HDEL', K[1], 'cl:' .. c) end
end

-- 3. members to carry
local dropped = 0
local function gone_lapsed(user, last)
  drop_member(now, user, entry_seq(entry_get(user)), 'lapsed', last)
  dropped = dropped + 1
  return 'GONE'
end
local function carry(user, profile)
  if head[2] == user then return 'ANCHOR' end
  if not c then
    local beat = heartbeat(user, profile, window)
    if beat[1] == 'OK' then return 'REFRESHED' end
    if beat[2] == 1 then dropped = dropped + 1 end
    return 'GONE'
  end
  local last = tonumber(redis.call('ZSCORE', K[2], user))
  if not last then return 'GONE' end
  if last >= CARRIED_BASE then
    local other = last - CARRIED_BASE
    if other == c then return 'CARRIED' end
    local r = carrier_renewal(other)
    if not (r and r > since) then return gone_lapsed(user, last) end
    if now - r < takeover then return 'ELSEWHERE' end
    -- the other carrier missed its renewals: this one carries the member on
    carrier_note(other, '~' .. user)
  elseif last <= since then
    return gone_lapsed(user, last)
  end
  redis.call('ZADD', K[2], 'XX', carrier_mark(c), user)
  refresh_profile(user, profile)
  return 'CARRIED'
end
local answers = {}
for i = 5 + n_off, #ARGV, 2 do
  answers[#answers + 1] = carry(ARGV[i], ARGV[i + 1])
end
if dropped > 0 then count_event(now, window) end
return with_share({'OK', c or -1, fresh, left, written.events, written.due_in, dropped, answers})
