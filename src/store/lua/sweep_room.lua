--! KEYS: (lib.lua)
-- One bounded step of the sweeper on a room it claimed. ARGV: window_ms, batch, then the users
-- of the previous step whose user pointers the caller has released since.
-- Every step does at most `batch` members' work, so no call grows with the crowd:
-- 1. the previous step's users are finished: a released member leaves the set-aside keys, a
--    lapsed one (still lapsed) leaves the room with member_left 'lapsed';
-- 2. members set aside by the end of the room: the next batch to release,
--    {'RELEASE', removed, {user, seq, ...}, events};
-- 3. members of carriers whose lease ran out (lib.lua, presence carried by streams): back to
--    their carrier's last renewal, at most `batch` a step, so that they lapse by the plain
--    rule in this same step; a carrier with no marks left is forgotten;
--    lapsed members: the next batch, {'LAPSED', removed, {user, seq, ...}, events} (they leave
--    in the next step, once their pointers are released: a crash in between leaves nothing
--    behind, the next replica does the batch again);
-- 4. the anchor's presence lapsed: anchor_offline; an online count or a likes total a burst
--    left unsaid: sent;
-- 5. {'NEXT', removed, next due ms (-1: nothing can come due), events}, or {'GONE', removed,
--    -1, events} when the room and everything set aside are gone.
-- `removed` counts members taken out of the members set. Every answer ends with the room's
-- share of the platform's online total (count, version: lib.lua online_share), which the sweep
-- reports at each visit, so that a share a request failed to report is made good.
local window, batch = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local since = now - window
local aside = redis.call('EXISTS', KEYS[8]) == 1
-- where the entries are (lib.lua, the entries over buckets): the room's own keys, as many
-- buckets as the room hash says (`ebk`) or, once the room was deleted or purged, as K[9] says;
-- a K[9] without that field is the entries hash itself, set aside whole before the buckets
local entries, buckets, counted_aside = KEYS[4], entry_buckets(), nil
if redis.call('EXISTS', KEYS[9]) == 1 then
  local n = tonumber(redis.call('HGET', KEYS[9], ASIDE_BUCKETS))
  if n then buckets, counted_aside = n, true else entries, buckets = KEYS[9], 1 end
end
local function entry_of(user)
  return bucket_key(entries, entry_bucket(user, buckets))
end
local removed = 0
for i = 3, #ARGV do
  local user = ARGV[i]
  if aside and redis.call('ZREM', KEYS[8], user) == 1 then
    redis.call('HDEL', entry_of(user), user)
  else
    local last = redis.call('ZSCORE', KEYS[2], user)
    if last and not is_present(last, now, window) then
      drop_member(now, user, 0, 'lapsed', last)
      removed = removed + 1
    end
  end
end

local function with_seqs(users)
  local out = {}
  for _, user in ipairs(users) do
    out[#out + 1] = user
    out[#out + 1] = tostring(entry_seq(redis.call('HGET', entry_of(user), user)))
  end
  return out
end

if aside then
  local users = redis.call('ZRANGE', KEYS[8], 0, batch - 1)
  if #users > 0 then return with_share({'RELEASE', removed, with_seqs(users), written.events}) end
end
local status = redis.call('HGET', KEYS[1], 'live_status')
if status ~= '0' and status ~= '1' then
  -- ended or gone: what is left of the crowd (entries, tombstones) goes, off the main thread,
  -- at most `batch` buckets a step from the last one down (the count shrinks with them, so a
  -- step that a crash cut short is done again by the next)
  if status == '2' or counted_aside then
    local first = math.max(0, buckets - batch)
    local doomed = {}
    for b = first, buckets - 1 do doomed[#doomed + 1] = bucket_key(entries, b) end
    redis.call('UNLINK', unpack(doomed))
    if first > 0 then
      if counted_aside then
        redis.call('HSET', KEYS[9], ASIDE_BUCKETS, first)
      else
        redis.call('HSET', KEYS[1], 'ebk', first)
      end
      return with_share({'NEXT', removed, now, written.events})
    end
    if status == '2' then redis.call('HDEL', KEYS[1], 'ebk', 'enn') end
  end
  redis.call('UNLINK', KEYS[9])
  if not status then return with_share({'GONE', removed, -1, written.events}) end
  return with_share({'NEXT', removed, -1, written.events})
end

local rescored = 0
local top = carriers()
for c = 0, top - 1 do
  local r = carrier_renewal(c)
  if r and r <= since and rescored < batch then
    local mark = carrier_mark(c)
    local marked = redis.call('ZRANGEBYSCORE', KEYS[2], mark, mark, 'LIMIT', 0, batch - rescored)
    for _, user in ipairs(marked) do
      redis.call('ZADD', KEYS[2], 'XX', r, user)
    end
    rescored = rescored + #marked
    if rescored < batch then carrier_forget(c) end
  end
end
-- the highest indexes forgotten: the next count reads fewer
while top > 0 and not carrier_renewal(top - 1) do top = top - 1 end
if top == 0 then
  redis.call('HDEL', KEYS[1], 'cr_n')
elseif top < (tonumber(redis.call('HGET', KEYS[1], 'cr_n')) or 0) then
  redis.call('HSET', KEYS[1], 'cr_n', top)
end

local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', since, 'LIMIT', 0, batch)
if #lapsed > 0 then
  if removed > 0 then count_event(now, window) end
  return with_share({'LAPSED', removed, with_seqs(lapsed), written.events})
end

if redis.call('HGET', KEYS[1], 'anchor_on') == '1' and redis.call('EXISTS', KEYS[6]) == 0 then
  redis.call('HSET', KEYS[1], 'anchor_on', '0')
  emit(now, 'anchor_offline')
end
local oc_due = tonumber(redis.call('HGET', KEYS[1], 'oc_due'))
if removed > 0 or (oc_due and oc_due <= now) then count_event(now, window) end
local lk_due = tonumber(redis.call('HGET', KEYS[1], 'lk_due'))
if lk_due and lk_due <= now then likes_event(now) end

-- The next moment anything about this room can come due.
local next_due = -1
local function at(ms)
  if ms and (next_due < 0 or ms < next_due) then next_due = ms end
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if oldest[2] and tonumber(oldest[2]) < CARRIED_BASE then at(tonumber(oldest[2]) + window + 1) end
-- a carrier's members lapse a window after its last renewal, unless it renews
for c = 0, carriers() - 1 do
  local r = carrier_renewal(c)
  if r then at(r + window + 1) end
end
if redis.call('HGET', KEYS[1], 'anchor_on') == '1' then
  local ttl = redis.call('PTTL', KEYS[6])
  if ttl > 0 then at(now + ttl + 1) else at(now) end
end
at(tonumber(redis.call('HGET', KEYS[1], 'oc_due')))
at(tonumber(redis.call('HGET', KEYS[1], 'lk_due')))
return with_share({'NEXT', removed, next_due, written.events})
