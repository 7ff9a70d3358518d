--! KEYS: (index_lib.lua)
-- Brings the global indexes in line with one room, after the room's own atomic change.
-- Idempotent and ordered by the room's version: a late, older update is ignored, and nothing
-- brings back a room deleted within the hour.
-- ARGV: P, live_id, ver, status ('0'|'1'|'2'|'d' deleted), created_ms, started_ms,
--       close deadline ms, purge deadline ms (0: keep), folded text ("title\31nick"),
--       and, optionally, the prefix of the per-anchor lists (keys.rs `anchor_rooms`) and the
--       room's anchor (empty on a delete: the lists remember whose room it was), then the
--       room's card (store/cards.rs; absent or '': left as it is).
local P, id, ver, status = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local started, close_at, purge_at, text = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local card = ARGV[12] or ''
local TOMBSTONE_MS = 3600000
local A, anchor = ARGV[10] or '', ARGV[11] or ''

-- The per-anchor lists (server API, `mine`): each anchor's rooms, all and by status, scored by
-- room number (newest created first). OWNER (KEYS[7]) remembers each room's anchor.
local function anchor_lists(n, new_status)
  if A == '' then return end
  if new_status == 'd' then
    local owner = redis.call('HGET', OWNER, id)
    if not owner then return end
    redis.call('ZREM', A .. 'a:' .. owner, id)
    for s = 0, 2 do redis.call('ZREM', A .. s .. ':' .. owner, id) end
    redis.call('HDEL', OWNER, id)
    return
  end
  if anchor == '' then return end
  redis.call('HSET', OWNER, id, anchor)
  redis.call('ZADD', A .. 'a:' .. anchor, n, id)
  for s = 0, 2 do
    if tostring(s) == new_status then
      redis.call('ZADD', A .. s .. ':' .. anchor, n, id)
    else
      redis.call('ZREM', A .. s .. ':' .. anchor, id)
    end
  end
end
local hex = string.sub(id, 6)
local deleted = DELETED
if redis.call('ZSCORE', deleted, hex) then return 0 end

local bin = hex_to_bin(hex)
local mk = map_key(P, hex)
local n = tonumber(redis.call('HGET', mk, bin))
local old_status, old_ver, old_text
if n then
  local d = doc_get(P, n)
  local _, s, v, pos = doc_parse(d)
  if s then old_status, old_ver, old_text = s, v, string.sub(d, pos) end
end
if status ~= 'd' and old_ver and old_ver >= ver then return 0 end

local old_grams = old_text and grams_of(old_text) or {}

if status == 'd' then
  if n then
    for g in pairs(old_grams) do posting_rem(P, g, n) end
    sync_phrases(P, n, old_text, nil)
    if old_status then
      chunk_rem(P, '#all', n)
      chunk_rem(P, '#s' .. old_status, n)
    end
    doc_clear(P, n)
    redis.call('HDEL', mk, bin)
  end
  redis.call('HDEL', card_key(P, hex), bin)
  local now = now_ms()
  redis.call('ZADD', deleted, now, hex)
  redis.call('ZREMRANGEBYSCORE', deleted, '-inf', now - TOMBSTONE_MS)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  anchor_lists(n, 'd')
  return 1
end

if not n then
  n = redis.call('INCR', SEQ)
  redis.call('HSET', mk, bin, n)
end
local new_grams = grams_of(text)
for g in pairs(old_grams) do
  if not new_grams[g] then posting_rem(P, g, n) end
end
for g in pairs(new_grams) do
  if not old_grams[g] then posting_add(P, g, n) end
end
sync_phrases(P, n, old_text, text)
if not old_status then chunk_add(P, '#all', n) end
if old_status ~= status then
  if old_status then chunk_rem(P, '#s' .. old_status, n) end
  chunk_add(P, '#s' .. status, n)
end
doc_set(P, n, doc_make(bin, status, ver, text))
if card ~= '' then redis.call('HSET', card_key(P, hex), bin, card) end
anchor_lists(n, status)

if status == '1' then
  redis.call('ZADD', KEYS[1], started, id)
  redis.call('ZADD', KEYS[2], close_at, id)
else
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
if status == '2' and purge_at > 0 then redis.call('ZADD', KEYS[3], purge_at, id) end
return 1
