--! KEYS: live close_at purge_at seq deleted phrases owner
-- Shared by the index scripts (prepended when loaded). Every index key shares the hash tag
-- {rooms}, so one script sees them all, on one node or on a Redis Cluster.
--   KEYS (first line; keys.rs `INDEX_KEY_NAMES`): [1] live rooms (zset: live_id -> started ms),
--   [2] offline-close deadlines (zset), [3] retention deadlines of ended rooms (zset), and the
--   search index's single keys: [4] seq, [5] deleted, [6] phrases (below: P..'#seq', P..'#del',
--   P..'#ph'), [7] owner (the per-anchor lists' live_id -> anchor). The rest of the search
--   index is families of keys named from P, whose members the script finds from what it reads
--   (a room's number, bucket and grams; an anchor from `owner`), so no caller can name them
--   beforehand; all of them are in the {rooms} slot, as the declared keys are.
--   ARGV[1] is P, the prefix of the search index's keys:
--     P..'#seq'       the last room number. A room is numbered when it first reaches the index
--                     (right after its creation), so number order is creation order, and search
--                     lists rooms by number, highest first.
--     P..'#m:'..b     live_id -> number (hash of at most ~128 small entries: a compact listpack;
--                     b from the random tail of the id; the field is the id's 16 bytes)
--     P..'#d:'..c     the documents of rooms c*32720 .. c*32720+32719 (hash: number -> 16 bytes
--                     of live_id, status ('0'|'1'|'2'), version (4 bytes), then the folded
--                     title, \31, the folded anchor nick), read many at a time with HMGET
--     P..'#r:'..h     postings of the grams of bucket h (hash: gram -> up to 15 room numbers of
--                     4 bytes, or '*' once the gram has had more: it then lives in chunks)
--     P..g..'|'..c    postings of gram g among rooms c*32720 .. c*32720+32719: a set of offsets
--                     (an intset: 2 bytes each) up to 512 of them, beyond a bitmap of 4090 bytes
--                     (allocated at once: 4 KiB exactly, where growing bit by bit would double it)
--     P..'#del'       live_ids deleted in the last hour (zset: -> ms), so that a late update of
--                     a deleted room cannot bring it back
--     P..'#k:'..b     room cards (issue 18: store/cards.rs), live_id -> what a list row shows
--                     (hash; b as for '#m:', the field is the id's 16 bytes), written with the
--                     document and refreshed at the same version when the online count is said
--     P..'#ph'        popular phrases (zset: keyword -> when registered), at most 64: a keyword
--                     of three characters or more whose search had many candidates to confirm
--                     gets postings of its own (pseudo-gram '#p'..keyword), kept exact by every
--                     change of a room's text from then on, so that it is counted, not confirmed
--   A gram is every character and every pair of neighbouring characters of the folded title and
--   nick. The pseudo-grams '#all', '#s0', '#s1', '#s2' (every room, rooms by status) always live
--   in chunks; they cannot clash with real grams, which are one or two characters.

local BITMAP_BYTES = 4090 -- with Redis's string header, one 4 KiB allocation
local CHUNK = BITMAP_BYTES * 8 -- rooms per chunk (offsets fit an int16 intset)
local SET_MAX = 512       -- a chunk set becomes a bitmap beyond this (Redis's intset limit)
local SET_MIN = 128       -- and a bitmap a set again below this
local RARE_MAX = 15       -- postings kept inline in a gram's bucket (15 x 4 bytes <= 64 bytes)
local PHRASE_MIN = 256    -- candidates to confirm that make a keyword a phrase
local PHRASES_MAX = 64
local SEQ, DELETED, PHRASES, OWNER = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local RARE_BUCKETS = 4096
local MAP_BUCKETS = 8192

local function chars_of(s)
  local out = {}
  for ch in string.gmatch(s, '[%z\1-\127\194-\244][\128-\191]*') do out[#out + 1] = ch end
  return out
end

-- Every character and every pair of neighbouring characters of each field (fields split at \31).
local function grams_of(text)
  local set = {}
  for field in string.gmatch(text, '[^\31]+') do
    local chars = chars_of(field)
    for i = 1, #chars do
      set[chars[i]] = true
      if i < #chars then set[chars[i] .. chars[i + 1]] = true end
    end
  end
  return set
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function hex_to_bin(hex)
  return (string.gsub(hex, '..', function(h) return string.char(tonumber(h, 16)) end))
end

local function bin_to_hex(bin)
  return string.format(string.rep('%02x', #bin), string.byte(bin, 1, -1))
end

-- Keys ---------------------------------------------------------------------------------------

local function map_key(P, hex)
  return P .. '#m:' .. (tonumber(string.sub(hex, -4), 16) % MAP_BUCKETS)
end

local function card_key(P, hex)
  return P .. '#k:' .. (tonumber(string.sub(hex, -4), 16) % MAP_BUCKETS)
end

local function doc_key(P, n)
  return P .. '#d:' .. math.floor(n / CHUNK)
end

local function rare_key(P, g)
  local h = 0
  for i = 1, #g do h = (h * 131 + string.byte(g, i)) % 1000003 end
  return P .. '#r:' .. (h % RARE_BUCKETS)
end

local function chunk_key(P, g, c)
  return P .. g .. '|' .. c
end

local function key_type(key)
  return redis.call('TYPE', key)['ok']
end

-- Documents ----------------------------------------------------------------------------------

local function doc_get(P, n)
  return redis.call('HGET', doc_key(P, n), n)
end

-- Where a document's text starts: after 16 bytes of live_id, 1 of status, 4 of version.
local TEXT_AT = 22

local function doc_make(bin, status, ver, text)
  return bin .. status .. struct.pack('>I4', ver) .. text
end

-- A document's binary id, status, version and where its text starts (nil when gone).
local function doc_parse(d)
  if not d or #d < TEXT_AT then return nil end
  return string.sub(d, 1, 16), string.sub(d, 17, 17), (struct.unpack('>I4', d, 18)), TEXT_AT
end

local function doc_set(P, n, value)
  redis.call('HSET', doc_key(P, n), n, value)
end

local function doc_clear(P, n)
  redis.call('HDEL', doc_key(P, n), n)
end

-- Postings -----------------------------------------------------------------------------------

-- The offsets of the set bits of a bitmap, plus `base`, ascending, appended to `out`.
local function bits_of(s, base, out)
  local find, byte, k = string.find, string.byte, #out
  local i = find(s, '[^%z]')
  while i do
    local b, at = byte(s, i), base + (i - 1) * 8
    while b ~= 0 do
      -- bit offset 0 is the byte's high bit
      if b >= 128 then
        k = k + 1
        out[k] = at
        b = b - 128
      end
      b = b * 2
      at = at + 1
    end
    i = find(s, '[^%z]', i + 1)
  end
  return out
end

local function chunk_add(P, g, n)
  local key, off = chunk_key(P, g, math.floor(n / CHUNK)), n % CHUNK
  if key_type(key) == 'string' then
    redis.call('SETBIT', key, off, 1)
    return
  end
  if redis.call('SADD', key, off) == 1 and redis.call('SCARD', key) > SET_MAX then
    local offs = redis.call('SMEMBERS', key)
    redis.call('SET', key, string.rep('\0', BITMAP_BYTES))
    for _, o in ipairs(offs) do redis.call('SETBIT', key, o, 1) end
  end
end

local function chunk_rem(P, g, n)
  local key, off = chunk_key(P, g, math.floor(n / CHUNK)), n % CHUNK
  local t = key_type(key)
  if t == 'set' then
    redis.call('SREM', key, off)
  elseif t == 'string' then
    redis.call('SETBIT', key, off, 0)
    if redis.call('BITCOUNT', key) < SET_MIN then
      local offs = bits_of(redis.call('GET', key), 0, {})
      redis.call('DEL', key)
      for i = 1, #offs, 256 do
        redis.call('SADD', key, unpack(offs, i, math.min(i + 255, #offs)))
      end
    end
  end
end

local function pack_nums(nums)
  local parts = {}
  for i, n in ipairs(nums) do parts[i] = struct.pack('>I4', n) end
  return table.concat(parts)
end

local function unpack_nums(s)
  local out = {}
  for i = 1, #s - 3, 4 do out[#out + 1] = (struct.unpack('>I4', s, i)) end
  return out
end

local function posting_add(P, g, n)
  local rk = rare_key(P, g)
  local v = redis.call('HGET', rk, g)
  if v == '*' then return chunk_add(P, g, n) end
  local nums = v and unpack_nums(v) or {}
  for _, m in ipairs(nums) do
    if m == n then return end
  end
  nums[#nums + 1] = n
  if #nums <= RARE_MAX then
    table.sort(nums)
    redis.call('HSET', rk, g, pack_nums(nums))
  else
    for _, m in ipairs(nums) do chunk_add(P, g, m) end
    redis.call('HSET', rk, g, '*')
  end
end

local function posting_rem(P, g, n)
  local rk = rare_key(P, g)
  local v = redis.call('HGET', rk, g)
  if not v then return end
  if v == '*' then return chunk_rem(P, g, n) end
  local kept = {}
  for _, m in ipairs(unpack_nums(v)) do
    if m ~= n then kept[#kept + 1] = m end
  end
  if #kept == 0 then redis.call('HDEL', rk, g) else redis.call('HSET', rk, g, pack_nums(kept)) end
end

-- Phrases -----------------------------------------------------------------------------------

-- A bitmap (string) with the given offsets set.
local function bitmap_of(offs)
  local bytes = {}
  for _, o in ipairs(offs) do
    local i = math.floor(o / 8) + 1
    bytes[i] = bit.bor(bytes[i] or 0, bit.rshift(128, o % 8))
  end
  local out = {}
  for i = 1, BITMAP_BYTES do out[i] = string.char(bytes[i] or 0) end
  return table.concat(out)
end

-- Forgets a phrase and its postings.
local function drop_phrase(P, kw)
  redis.call('ZREM', PHRASES, kw)
  local last = tonumber(redis.call('GET', SEQ) or '0')
  for c = 0, math.floor(last / CHUNK) do redis.call('DEL', chunk_key(P, '#p' .. kw, c)) end
end

-- Keeps the postings of every phrase in line with one room's change of text (nil: none).
local function sync_phrases(P, n, old_text, new_text)
  if old_text == new_text then return end
  for _, kw in ipairs(redis.call('ZRANGE', PHRASES, 0, -1)) do
    local was = old_text and string.find(old_text, kw, 1, true)
    local is = new_text and string.find(new_text, kw, 1, true)
    if was and not is then
      chunk_rem(P, '#p' .. kw, n)
    elseif is and not was then
      chunk_add(P, '#p' .. kw, n)
    end
  end
end
