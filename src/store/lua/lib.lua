--! KEYS: room members order entries uv anchor events leaving leaving_entries bans
-- Shared by every per-room script (prepended when the scripts are loaded).
-- Per-room scripts all take the same KEYS, every one in the room's hash tag, named on the first
-- line (the key contract: keys.rs `ROOM_KEYS` names them in this order, and a test holds every
-- call against it, store/calls/contract.rs). Each script's own first line says `(lib.lua)`.
--   K[1] room: hash, K[2] members: zset user -> last heartbeat ms,
--   K[3] order: join order (a hash of chunks and their counts, below), K[4] entries
--   (hash: user -> "seq:pv\timid\tprofile json", pv the room's pv at the user's join; "seq"
--   alone once the user has gone, "seq\tkicked" after a kick; the first of the entries'
--   buckets, K[4]..':'..b the others: see entry_key below),
--   K[5] uv (HyperLogLog), K[6] anchor: presence (string with a TTL of one member window),
--   K[7] events: the room's event log (stream, bounded),
--   K[8] leaving: members being released after the room ended (zset, the members key renamed),
--   K[9] leaving_entries: once the room was deleted or purged, how many buckets its entries
--   (left in place for the release) have (set_entries_aside; a hash of older versions held the
--   entries themselves, renamed), K[10] bans (zset: user -> end of the ban, ms).
-- Ending a room renames its member keys aside in O(1); the sweeper releases them in batches
-- (sweep_room.lua), so that no call grows with the room's crowd.
--
-- The functions below read the room's keys through `K`, which is `KEYS` for every script but
-- heartbeat_batch.lua: there one call carries the heartbeats of several rooms (KEYS: the six
-- per room that a heartbeat touches), and `K` is pointed at each heartbeat's room in turn.

local K = KEYS

-- Redis's clock, never a replica's: replicas with skewed clocks agree.
-- Read once per call: a script runs as one step, so all of it happens at one instant, and a
-- batch of heartbeats (heartbeat_batch.lua) pays for one TIME, not one per heartbeat.
local clock
local function now_ms()
  if not clock then
    local t = redis.call('TIME')
    clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clock
end

-- The room's event log: written by the same script that makes the change, so an event exists
-- if and only if its change happened. Bounded: SSE clients resume from it, webhooks drain it.
local EVENTS_MAXLEN = 1000

-- The room's id: a shard room's (store/shards.rs, `<live_id>#<n>`) is its room's.
local function room_id()
  return string.match(string.match(K[1], '{(.-)}'), '^[^#]*')
end

-- Whether K names one of a sharded room's shard rooms rather than a room.
local function is_shard_room()
  return string.find(string.match(K[1], '{(.-)}') or '', '#', 1, true) ~= nil
end

-- Presence carried by a replica's open event streams (fanout.rs, carry.lua): a lease per
-- replica per room instead of a refresh per member. A carried member's score in K[2] is a mark,
-- CARRIED_BASE + c (far above any ms time), set once when a stream starts carrying it; c is its
-- carrier's index in the room. The carrier (one replica) renews its lease, one field, every
-- heartbeat interval, and a marked member is present while its carrier's last renewal is
-- within the window. The room's hash keeps, per carrier c (at most CARRIER_SLOTS; fields, like
-- the seats, so that every script that reads presence already holds the key):
--   `cr:<c>` its last renewal (ms), `cr#<c>` its replica's token ('' once the replica carries
--   afresh under another index: the sweep finishes this one), `cr@<token>` the replica's index,
--   `cl:<c>` the members that went while it carried them, which its next renewal pops
--   (`user\n` each, `~user\n` for a member another carrier took over; '*' once the list
--   outgrew LEFT_MAX_BYTES: the carrier checks all its members again), and `cr_n` one more than
--   the highest index in use.
-- Marks are exact integers in a double (2^50 + 63 < 2^53), written with '%.0f' (never Lua's
-- '%.14g').
local CARRIED_BASE = 1125899906842624
local CARRIER_SLOTS = 64
local LEFT_MAX_BYTES = 8192

local function carrier_mark(c)
  return string.format('%.0f', CARRIED_BASE + c)
end

-- A carrier's last renewal (false: no such carrier), read once per call and room.
local carrier_renewals = {}
local function carrier_renewal(c)
  local at = K[1] .. '\n' .. c
  local r = carrier_renewals[at]
  if r == nil then
    r = tonumber(redis.call('HGET', K[1], 'cr:' .. c)) or false
    carrier_renewals[at] = r
  end
  return r
end

-- The one presence predicate: whether a member's score (K[2]) says present now. A plain score
-- is the last heartbeat (or join); a mark is present while its carrier's lease runs.
local function is_present(score, now, window)
  score = tonumber(score)
  if not score then return false end
  if score >= CARRIED_BASE then
    local r = carrier_renewal(score - CARRIED_BASE)
    return r ~= false and r > now - window
  end
  return score > now - window
end

-- The room's carrier indexes in use (0 .. cr_n - 1), their renewals read in one call.
local function carriers()
  local top = tonumber(redis.call('HGET', K[1], 'cr_n')) or 0
  if top == 0 then return 0 end
  local fields = {}
  for c = 0, top - 1 do fields[#fields + 1] = 'cr:' .. c end
  local got = redis.call('HMGET', K[1], unpack(fields))
  for c = 0, top - 1 do
    carrier_renewals[K[1] .. '\n' .. c] = tonumber(got[c + 1]) or false
  end
  return top
end

-- The members present now: the plain scores within the window, plus each live carrier's marks.
-- O(carriers · log N), carriers bounded by CARRIER_SLOTS.
local function present_count(now, window)
  local since = now - window
  local n = redis.call('ZCOUNT', K[2], '(' .. since, '(' .. carrier_mark(0))
  for c = 0, carriers() - 1 do
    local r = carrier_renewal(c)
    if r and r > since then
      local mark = carrier_mark(c)
      n = n + redis.call('ZCOUNT', K[2], mark, mark)
    end
  end
  return n
end

-- Tells carrier c that `entry` went (its next renewal pops the list). Bounded: past
-- LEFT_MAX_BYTES the list becomes '*', and the carrier checks all its members again.
local function carrier_note(c, entry)
  if not redis.call('HGET', K[1], 'cr#' .. c) then return end
  local field = 'cl:' .. c
  local list = redis.call('HGET', K[1], field) or ''
  if list == '*' then return end
  if #list + #entry + 1 > LEFT_MAX_BYTES then
    list = '*'
  else
    list = list .. entry .. '\n'
  end
  redis.call('HSET', K[1], field, list)
end

-- Forgets carrier c (its marks all gone): its fields, and its replica's pointer to it.
local function carrier_forget(c)
  local owner = redis.call('HGET', K[1], 'cr#' .. c)
  if owner and owner ~= '' and tonumber(redis.call('HGET', K[1], 'cr@' .. owner)) == c then
    redis.call('HDEL', K[1], 'cr@' .. owner)
  end
  redis.call('HDEL', K[1], 'cr:' .. c, 'cr#' .. c, 'cl:' .. c)
  carrier_renewals[K[1] .. '\n' .. c] = false
end

-- How many events this run of the script wrote (a script may say so to its caller).
local written = {events = 0}

-- EVENT_LOG (prepended by scripts.rs from the settings): `webhooks` (webhook delivery reads the
-- logs: nothing is trimmed here, delivery trims what it delivered), `member_max` (above it a
-- room writes no member events for watchers), `member_all` (webhooks still get them, marked
-- `w` = webhook only, which watchers skip).
local MEMBER_EVENTS = {member_joined = true, member_left = true}

local function emit(now, etype, fields)
  -- A shard room's log is read by webhooks only (watchers read the room's): it keeps its
  -- members' joins and leaves for them, and says nothing of the room (its start, end, counts:
  -- the room's own log does).
  if is_shard_room() and not (EVENT_LOG.webhooks and MEMBER_EVENTS[etype]) then return end
  local hot = MEMBER_EVENTS[etype] and redis.call('ZCARD', K[2]) > EVENT_LOG.member_max
  if hot and not (EVENT_LOG.webhooks and EVENT_LOG.member_all) then return end
  written.events = written.events + 1
  local data = fields or {}
  data.live_id = room_id()
  data.type = etype
  data.at = now
  local body = cjson.encode(data)
  if not EVENT_LOG.webhooks then
    redis.call('XADD', K[7], 'MAXLEN', '~', EVENTS_MAXLEN, '*', 'type', etype, 'data', body)
  elseif hot then
    redis.call('XADD', K[7], '*', 'type', etype, 'data', body, 'w', '1')
  else
    redis.call('XADD', K[7], '*', 'type', etype, 'data', body)
  end
end

-- online_count events, coalesced: at most one a second per room, only when the count changed.
-- What a burst leaves unsaid is said when the room comes due (sweep_room.lua): the room hash
-- keeps when (`oc_due`), and the script tells its caller once, so that the caller schedules
-- the room (`written.due_in`, ms from now; -1 when nothing to schedule).
written.due_in = -1
written.announced = 0
local function due_within(ms)
  if written.due_in < 0 or ms < written.due_in then written.due_in = ms end
end

-- An announced value's coalescing (online_count, likes): at most one event a second per room
-- (`at` field), only when the value moved since the last one said (`sent`); a change within the
-- second marks the room due (`due`) when the second ends, so the sweep says what was left unsaid.
-- Answers true when the event is to be said now (the fields already record it).
local function coalesce(now, value, sent_f, at_f, due_f)
  local sent = redis.call('HMGET', K[1], sent_f, at_f, due_f)
  if tonumber(sent[1]) == value then
    if sent[3] then redis.call('HDEL', K[1], due_f) end
    return false
  end
  local at = tonumber(sent[2]) or 0
  if now - at < 1000 then
    if not sent[3] then
      redis.call('HSET', K[1], due_f, at + 1000)
      due_within(at + 1000 - now)
    end
    return false
  end
  redis.call('HSET', K[1], sent_f, value, at_f, now)
  redis.call('HDEL', K[1], due_f)
  return true
end

local function count_event(now, window)
  local count = present_count(now, window)
  if not coalesce(now, count, 'oc_sent', 'oc_at', 'oc_due') then return end
  -- a sharded room's count is its shards' sum, which the caller says (say_count.lua)
  if (tonumber(redis.call('HGET', K[1], 'shards')) or 1) == 1 then
    emit(now, 'online_count', {online_count = count})
  end
  -- the caller refreshes the room's card in the index (issue 18: store/cards.rs)
  written.announced = 1
end

-- The seq of the join or leave that last wrote this user's entry (0 when none).
local function entry_seq(entry)
  if not entry then return 0 end
  return tonumber(string.match(entry, '^(%d+)')) or 0
end

-- The room as every answer shows it.
local function room_view(now, window)
  local h = redis.call('HGETALL', K[1])
  local online = present_count(now, window)
  local uv = redis.call('PFCOUNT', K[5])
  local anchor = redis.call('EXISTS', K[6])
  return {'OK', h, online, uv, anchor}
end

-- The anchor was heard from: presence for one member window, and the clock of the offline close.
local function anchor_beat(now, window)
  redis.call('SET', K[6], '1', 'PX', window)
  redis.call('HSET', K[1], 'anchor_seen', now)
  if redis.call('HGET', K[1], 'anchor_on') ~= '1' then
    redis.call('HSET', K[1], 'anchor_on', '1')
    emit(now, 'anchor_online')
    -- the room comes due when this presence may lapse, for anchor_offline (sweep_room.lua)
    due_within(window)
  end
end

-- Co-host seats (issue 26; store/seats.rs). A room's seats live in its own hash, so that every
-- script that can see a member go (the heartbeat batch included, which carries six keys) frees
-- the seat in the same step: `seats` the room's seat count (fixed at creation), `seat:<n>` the
-- seat's holder ("user\tmic\tcamera\tsince ms\textends json"), `seat@<user>` the user's seat.
-- At most `seats` (<= 64) seats, so freeing them all is bounded whatever the crowd.
local function seat_holder(raw)
  -- a missing field reads as false (Redis nil), and no seat is held by ''
  if not raw or raw == '' then return nil end
  return string.match(raw, '^([^\t]+)')
end

-- Frees `user`'s seat, if it holds one (seat_left with `reason`). Answers the seat (0: none).
local function seat_free(now, user, reason)
  local n = redis.call('HGET', K[1], 'seat@' .. user)
  if not n then return 0 end
  redis.call('HDEL', K[1], 'seat@' .. user, 'seat:' .. n)
  emit(now, 'seat_left', {user_id = user, seat = tonumber(n), reason = reason})
  return tonumber(n)
end

-- Frees every seat of the room (its end): one seat_left each.
local function seats_free_all(now, reason)
  local count = tonumber(redis.call('HGET', K[1], 'seats')) or 0
  for n = 1, count do
    local user = seat_holder(redis.call('HGET', K[1], 'seat:' .. n))
    if user then
      redis.call('HDEL', K[1], 'seat:' .. n, 'seat@' .. user)
      emit(now, 'seat_left', {user_id = user, seat = n, reason = reason})
    end
  end
end

-- The join order (user_list: most recent joiner first, stable across pages), in K[3], a hash
-- instead of a second sorted set (~104 bytes a member; issue 27): the members in chunks of
-- CHUNK by their pv at join, field `c<i>` = their ids in join order, each followed by a
-- newline (ids hold no control characters); the chunks' counts in a Fenwick tree (`f<i>`, over
-- chunk numbers 1..`cap`, a power of two that doubles as chunks are added), so that the k-th
-- member from either end is found in O(log chunks) reads; `n` the members in it. A member costs
-- its id and a newline, about 16 bytes. Every step reads or writes one chunk (at most CHUNK ids)
-- or one path of the tree: nothing grows with the crowd but the log.
local CHUNK = 64

local function order_chunk(pv)
  return math.floor((pv - 1) / CHUNK) + 1
end

local function order_add(i, delta)
  local cap = tonumber(redis.call('HGET', K[3], 'cap')) or 0
  while i <= cap do
    -- a node back at 0 goes (a missing node reads as 0): a room that lives for days with a
    -- churning crowd keeps nodes only over the chunks that still hold members
    if redis.call('HINCRBY', K[3], 'f' .. i, delta) == 0 then redis.call('HDEL', K[3], 'f' .. i) end
    i = i + bit.band(i, -i)
  end
end

-- Appends the member who joined at `pv` (the room's pv only grows, so the chunk's end).
local function order_push(user, pv)
  local i = order_chunk(pv)
  local cap = tonumber(redis.call('HGET', K[3], 'cap')) or 0
  if cap == 0 then
    cap = 1
    redis.call('HSET', K[3], 'cap', 1)
  end
  while cap < i do
    -- the tree's root over 1..2cap covers what 1..cap held: the chunks above were empty
    local total = redis.call('HGET', K[3], 'f' .. cap) or '0'
    cap = cap * 2
    redis.call('HSET', K[3], 'cap', cap, 'f' .. cap, total)
  end
  local chunk = redis.call('HGET', K[3], 'c' .. i) or ''
  redis.call('HSET', K[3], 'c' .. i, chunk .. user .. '\n')
  redis.call('HINCRBY', K[3], 'n', 1)
  order_add(i, 1)
end

-- Takes the member who joined at `pv` out of the join order.
local function order_remove(user, pv)
  local i = order_chunk(pv)
  local chunk = redis.call('HGET', K[3], 'c' .. i)
  if not chunk then return end
  local from, to = string.find('\n' .. chunk, '\n' .. user .. '\n', 1, true)
  if not from then return end
  -- in `chunk` the id starts at `from` (the leading newline added shifts by one)
  chunk = string.sub(chunk, 1, from - 1) .. string.sub(chunk, to)
  if chunk == '' then
    redis.call('HDEL', K[3], 'c' .. i)
  else
    redis.call('HSET', K[3], 'c' .. i, chunk)
  end
  redis.call('HINCRBY', K[3], 'n', -1)
  order_add(i, -1)
end

-- The chunk holding the member of 0-based rank `r` from the first joiner, and the member's
-- 0-based place in it (Fenwick descent: one read per level).
local function order_find(r)
  local cap = tonumber(redis.call('HGET', K[3], 'cap')) or 0
  local pos, step = 0, cap
  while step >= 1 do
    local at = pos + step
    if at <= cap then
      local here = tonumber(redis.call('HGET', K[3], 'f' .. at)) or 0
      if here <= r then
        pos = at
        r = r - here
      end
    end
    step = step / 2
  end
  return pos + 1, r
end

-- Up to `count` members, starting `offset` from the most recent joiner, newest first.
local function order_page(offset, count)
  local out = {}
  local r = (tonumber(redis.call('HGET', K[3], 'n')) or 0) - 1 - offset
  while r >= 0 and #out < count do
    local i, place = order_find(r)
    local users = {}
    for user in string.gmatch(redis.call('HGET', K[3], 'c' .. i) or '', '([^\n]*)\n') do
      users[#users + 1] = user
    end
    if place >= #users then break end -- never: the counts and the chunks change together
    local k = place + 1
    while k >= 1 and #out < count do
      out[#out + 1] = users[k]
      k = k - 1
      r = r - 1
    end
  end
  return out
end

-- A profile as a member's entry keeps it: `{"nick":"X"}` (the common profile, a nick alone)
-- as `=X`, the same bytes less the JSON's frame (store/calls/members.rs puts it back), so
-- that an entry of a crowd's typical member fits a smaller allocation (issue 27). Lossless for
-- any profile that starts and ends so (the nick's escapes are kept as they are); a JSON
-- profile never starts with `=`.
local function stored_profile(profile)
  if #profile > 10 and string.sub(profile, 1, 9) == '{"nick":"' and string.sub(profile, -2) == '"}' then
    return '=' .. string.sub(profile, 10, -3)
  end
  return profile
end

-- The entries (K[4]) over buckets (issue 27): one big hash is a hashtable (allocations for the
-- field, the value and the slot of each entry); a small hash (a listpack: at most 512 fields of
-- at most 64 bytes by Redis's defaults) costs an entry its bytes and a few more (figures in
-- docs/operations.md, *Sizing*). So a room's entries are spread
-- over buckets by linear hashing: bucket 0 is K[4] itself, bucket b >= 1 is K[4]..':'..b, all
-- in the room's hash tag. A room starts with one bucket (a room of a few members keeps exactly
-- one hash), and each time the room's entries (`enn` in the room hash: entries and tombstones)
-- pass ENTRY_BUCKET_LOAD per bucket, one bucket splits into two (`ebk`: how many). A split
-- moves at most one bucket's entries (~2 * ENTRY_BUCKET_LOAD): no call grows with the crowd.
-- A user's bucket is computed from the user id and `ebk` alone, by any script, without a read
-- of the bucket. Buckets never merge; the room's end unlinks them in steps (sweep_room.lua).
local ENTRY_BUCKET_LOAD = 64
-- The field of an ended room's K[9] that says how many buckets its entries still have (a
-- deleted room's hash is gone). No user id can be it: user ids hold no control characters.
local ASIDE_BUCKETS = '\1buckets'

-- Read once per call and room (a batch of a hot room's heartbeats reads it once); a split
-- updates it.
local bucket_counts = {}
local function entry_buckets()
  local n = bucket_counts[K[4]]
  if not n then
    n = tonumber(redis.call('HGET', K[1], 'ebk')) or 1
    bucket_counts[K[4]] = n
  end
  return n
end

-- The bucket's key: `base` is K[4], bucket 0 is the key itself.
local function bucket_key(base, b)
  if b == 0 then return base end
  return base .. ':' .. b
end

-- Which of `n` buckets holds the user's entry: the user id's hash (the first 32 bits of its
-- SHA-1) modulo the power of two at or below n, or the next one for the buckets split already.
-- (Kept per call: a join finds the same user's entry two or three times.)
local user_hashes = {}
local function user_hash(user)
  local h = user_hashes[user]
  if not h then
    h = tonumber(string.sub(redis.sha1hex(user), 1, 8), 16)
    user_hashes[user] = h
  end
  return h
end
-- The power of two at or below n (n >= 1).
local function power_below(n)
  local low = 1
  while low * 2 <= n do low = low * 2 end
  return low
end
local function entry_bucket(user, n)
  -- one bucket (a room of up to ENTRY_BUCKET_LOAD entries): no hash to compute
  if n == 1 then return 0 end
  local low = power_below(n)
  local h = user_hash(user)
  local b = h % low
  if b < n - low then b = h % (low * 2) end
  return b
end

-- The key of the user's entry, `n` (the room's bucket count) read when not given.
local function entry_key(user, n)
  return bucket_key(K[4], entry_bucket(user, n or entry_buckets()))
end

local function entry_get(user, n)
  return redis.call('HGET', entry_key(user, n), user)
end

-- Splits the next bucket in line (linear hashing): with n buckets and `low` the power of two
-- at or below n, bucket n - low splits into itself and bucket n.
local function entries_split(n)
  local low = power_below(n)
  local from = bucket_key(K[4], n - low)
  local fields = redis.call('HGETALL', from)
  local moved, names = {}, {}
  for i = 1, #fields, 2 do
    if user_hash(fields[i]) % (low * 2) == n then
      moved[#moved + 1] = fields[i]
      moved[#moved + 1] = fields[i + 1]
      names[#names + 1] = fields[i]
    end
  end
  if #names > 0 then
    redis.call('HSET', bucket_key(K[4], n), unpack(moved))
    redis.call('HDEL', from, unpack(names))
  end
  redis.call('HSET', K[1], 'ebk', n + 1)
  bucket_counts[K[4]] = n + 1
end

-- Writes the user's entry; a new one counts, and may split a bucket.
local function entry_set(user, value)
  local n = entry_buckets()
  if redis.call('HSET', entry_key(user, n), user, value) == 1 then
    local count = tonumber(redis.call('HGET', K[1], 'enn'))
    -- a room from before the buckets has one, uncounted: its size is the count
    if count then count = count + 1 else count = redis.call('HLEN', K[4]) end
    redis.call('HSET', K[1], 'enn', count)
    if count > n * ENTRY_BUCKET_LOAD then entries_split(n) end
  end
end

local function entry_del(user)
  if redis.call('HDEL', entry_key(user), user) == 1 then
    local count = tonumber(redis.call('HGET', K[1], 'enn'))
    if count then redis.call('HSET', K[1], 'enn', count - 1) end
  end
end

-- A present member's entry (`seq:pv TAB imid TAB profile`) takes the profile its heartbeat or
-- stream sends, written only when it changed.
local function refresh_profile(user, profile)
  local key = entry_key(user)
  local entry = redis.call('HGET', key, user)
  local seq, imid, old = string.match(entry or '', '^([%d:]+)\t([^\t]*)\t(.*)$')
  local stored = stored_profile(profile)
  if seq and old ~= stored then
    redis.call('HSET', key, user, seq .. '\t' .. imid .. '\t' .. stored)
  end
end

-- The entry's part after the seq, from a join's "imid TAB profile json".
local function entry_tail(person)
  local imid, profile = string.match(person, '^([^\t]*)\t(.*)$')
  if not imid then return person end
  return imid .. '\t' .. stored_profile(profile)
end

-- The pv at which the entry's member joined (nil for an entry of a member gone, or written
-- before the join order kept it).
local function entry_pv(entry)
  if not entry then return nil end
  return tonumber(string.match(entry, '^%d+:(%d+)'))
end

-- Removes one member, whose score (K[2]) was `score`. After a leave or a move the entry keeps the seq, so that a late, older
-- join cannot bring the member back; a lapse (a whole window of silence) needs no such guard,
-- and its entry goes, so that a crowd that came and went leaves nothing behind.
local function drop_member(now, user, seq, reason, score)
  -- a carried member: its carrier learns at its next renewal, and ends the member's stream
  score = tonumber(score)
  if score and score >= CARRIED_BASE then carrier_note(score - CARRIED_BASE, user) end
  redis.call('ZREM', K[2], user)
  local pv = entry_pv(entry_get(user))
  if pv then order_remove(user, pv) end
  redis.call('HINCRBY', K[1], 'mver', 1)
  -- co-host seats (issue 26): a member who goes frees its seat; a move to another room reads
  -- as `left` (CONTRACT 11's seat_left reasons)
  seat_free(now, user, reason == 'moved' and 'left' or reason)
  if reason == 'lapsed' then
    entry_del(user)
  else
    entry_set(user, tostring(seq))
  end
  emit(now, 'member_left', {user_id = user, reason = reason})
end

-- The room's share of the platform's online total (online_set.lua): the members in its members
-- set (a lapsed one counts until it is removed) and `mver`, the version of its membership, which
-- every change of the members set bumps; -1 once the room ended or is gone.
local function online_share()
  local status = redis.call('HGET', K[1], 'live_status')
  if status ~= '0' and status ~= '1' then return -1, 0 end
  return redis.call('ZCARD', K[2]), tonumber(redis.call('HGET', K[1], 'mver')) or 0
end

-- Appends the room's share (count, version) to a script's answer.
local function with_share(answer)
  local count, version = online_share()
  answer[#answer + 1] = count
  answer[#answer + 1] = version
  return answer
end

-- Ends a live room: status 2, end_time now, one live_ended (it stands for every member
-- leaving), and the members set aside for the sweeper to release in batches. O(1): RENAME and
-- UNLINK do not walk the crowd. Returns how many members the room held (present or lapsed but
-- not yet trimmed); the room's share leaves the platform's online total by its follow-ups
-- (online_set.lua).
local function end_room(now, reason)
  redis.call('HSET', K[1], 'live_status', '2', 'end_time', math.floor(now / 1000),
    'ended_ms', now, 'ended_reason', reason)
  redis.call('HDEL', K[1], 'oc_due')
  redis.call('HINCRBY', K[1], 'ver', 1)
  -- co-host seats (issue 26): the end frees them all, before the live_ended that closes the log
  seats_free_all(now, 'room_ended')
  emit(now, 'live_ended', {reason = reason})
  -- the carriers go with the room (at most CARRIER_SLOTS): their replicas' next renewal finds
  -- the room ended and ends its streams
  for c = 0, carriers() - 1 do carrier_forget(c) end
  redis.call('HDEL', K[1], 'cr_n')
  local held = redis.call('ZCARD', K[2])
  -- a room ends once (callers check the status), so K[8] is free
  if held > 0 then redis.call('RENAME', K[2], K[8]) end
  redis.call('UNLINK', K[3])
  return held
end

-- Sets the entries aside with the members, for a room about to be deleted or purged (its hash
-- goes): their seqs are what the release compares user pointers with. The entries stay where
-- they are, and K[9] says how many buckets they have (ASIDE_BUCKETS); the room's sweep unlinks
-- them once the members are released, in bounded steps (sweep_room.lua). One bucket and no
-- member to release: it goes at once. Returns true when the sweep has something to do.
local function set_entries_aside()
  local n = entry_buckets()
  if n == 1 and redis.call('EXISTS', K[8]) == 0 then
    redis.call('UNLINK', K[4])
    return false
  end
  if redis.call('EXISTS', K[9]) == 0 then redis.call('HSET', K[9], ASIDE_BUCKETS, n) end
  return true
end

-- The deadline of the anchor-offline close: last heard from + the close delay.
local function close_deadline(close_ms)
  local seen = tonumber(redis.call('HGET', K[1], 'anchor_seen')) or 0
  return seen + close_ms
end

-- `likes` events, coalesced like online_count: at most one a second per room (`lk_at`), only
-- when the total moved since the last one said (`lk_sent`). What a burst leaves unsaid is said
-- when the room comes due (`lk_due`, sweep_room.lua): the caller schedules it (written.due_in).
local function likes_event(now)
  local total = tonumber(redis.call('HGET', K[1], 'likes')) or 0
  if coalesce(now, total, 'lk_sent', 'lk_at', 'lk_due') then
    emit(now, 'likes', {total = total})
  end
end
