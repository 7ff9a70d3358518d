--! KEYS: (index_lib.lua)
-- A page of rooms matching a folded keyword, newest first (highest room number first: numbers
-- follow creation). ARGV: P, keyword (folded; '' = every room), status filter ('' or
-- '0'|'1'|'2'), offset, count, a live_id to match exactly ('' when the keyword is not of that
-- form). Answers {total, {live_id, ...}, {card or false, ...}}.
--
-- The keyword's grams (its character, or its pairs of neighbouring characters) are intersected,
-- with the status's pseudo-gram when filtered: a rare gram's few rooms directly, otherwise chunk
-- by chunk (sets with SINTER, bitmaps with BITOP AND), newest chunk first. Pairs can all occur
-- without the whole keyword, so a keyword of three characters or more is confirmed on each
-- candidate's text, unless it is a phrase (index_lib.lua) with postings of its own. Otherwise
-- only counts are taken, and only the page's rooms are read.
local P, keyword, status = ARGV[1], ARGV[2], ARGV[3]
local offset, count, exact = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
-- Scratch bitmaps (deleted before the end) are never replicated; a new phrase is.
redis.set_repl(redis.REPL_NONE)

local chars = chars_of(keyword)
local grams, seen = {}, {}
local function want(g)
  if not seen[g] then
    seen[g] = true
    grams[#grams + 1] = g
  end
end
if #chars == 1 then
  want(chars[1])
else
  for i = 1, #chars - 1 do want(chars[i] .. chars[i + 1]) end
end
local confirm = #chars > 2
local status_byte = status ~= '' and string.byte(status) or nil
local last = tonumber(redis.call('GET', SEQ) or '0')

local exact_n
if exact ~= '' then
  local hex = string.sub(exact, 6)
  exact_n = tonumber(redis.call('HGET', map_key(P, hex), hex_to_bin(hex)))
end

-- Where the keyword's rooms are: a phrase's own postings; or per gram, inline (the rarest such
-- list is kept) or in chunks; none when a gram has no room at all.
local rare, chunked, none = nil, {}, false
if confirm and exact == '' and redis.call('ZSCORE', PHRASES, keyword) then
  chunked = {'#p' .. keyword}
  confirm = false
else
  for _, g in ipairs(grams) do
    local v = redis.call('HGET', rare_key(P, g), g)
    if not v then
      none = true
      break
    elseif v == '*' then
      chunked[#chunked + 1] = g
    else
      local nums = unpack_nums(v)
      if not rare or #nums < #rare then rare = nums end
    end
  end
end

-- Chunks ------------------------------------------------------------------------------------

local temps = {}
local POP
local function popcount(b)
  if not POP then
    POP = {[0] = 0}
    for i = 1, 255 do POP[i] = POP[math.floor(i / 2)] + i % 2 end
  end
  return POP[b]
end

-- AND of bitmaps in Lua, for when Redis refuses the scratch key (e.g. at maxmemory).
local function lua_and(keys)
  local strs, len = {}, math.huge
  for i, k in ipairs(keys) do
    strs[i] = redis.call('GET', k)
    len = math.min(len, #strs[i])
  end
  local out = {}
  for i = 1, len do
    local v = 255
    for _, s in ipairs(strs) do v = bit.band(v, string.byte(s, i)) end
    out[i] = string.char(v)
  end
  return table.concat(out)
end

local function bit_set(s, o)
  local b = string.byte(s, math.floor(o / 8) + 1)
  return b ~= nil and bit.band(b, bit.rshift(128, o % 8)) ~= 0
end

-- The rooms of chunk c that hold every filter: {n = how many, nums = ascending numbers} or a
-- bitmap {n, key | str}; nil when none.
local function chunk_result(filters, c)
  local sets, maps = {}, {}
  for _, g in ipairs(filters) do
    local key = chunk_key(P, g, c)
    local t = key_type(key)
    if t == 'set' then
      sets[#sets + 1] = key
    elseif t == 'string' then
      maps[#maps + 1] = key
    else
      return nil
    end
  end
  local base = c * CHUNK
  if #sets > 0 then
    local offs = #sets == 1 and redis.call('SMEMBERS', sets[1]) or redis.call('SINTER', unpack(sets))
    local strs = {}
    for i, k in ipairs(maps) do strs[i] = redis.call('GET', k) end
    local nums = {}
    for _, o in ipairs(offs) do
      o = tonumber(o)
      local keep = true
      for _, s in ipairs(strs) do
        if not bit_set(s, o) then
          keep = false
          break
        end
      end
      if keep then nums[#nums + 1] = base + o end
    end
    if #nums == 0 then return nil end
    table.sort(nums)
    return {n = #nums, nums = nums, base = base}
  end
  if #maps == 1 then
    local n = redis.call('BITCOUNT', maps[1])
    return n > 0 and {n = n, key = maps[1], base = base} or nil
  end
  local tmp = P .. '#tmp:' .. c
  local ok = redis.pcall('BITOP', 'AND', tmp, unpack(maps))
  if type(ok) == 'table' and ok.err then
    local s = lua_and(maps)
    local n = 0
    for i = 1, #s do n = n + popcount(string.byte(s, i)) end
    return n > 0 and {n = n, str = s, base = base} or nil
  end
  temps[#temps + 1] = tmp
  local n = redis.call('BITCOUNT', tmp)
  return n > 0 and {n = n, key = tmp, base = base} or nil
end

-- Every chunk's result, newest chunk first.
local function chunk_results(filters)
  local out = {}
  for c = math.floor(last / CHUNK), 0, -1 do
    local r = chunk_result(filters, c)
    if r then out[#out + 1] = r end
  end
  return out
end

-- A chunk result's numbers, ascending.
local function numbers(r)
  return r.nums or bits_of(r.str or redis.call('GET', r.key) or '', r.base, {})
end

-- Reads the documents of candidates (descending numbers), by hundreds, and hands each on.
local function read_docs(nums, each)
  local i = #nums
  while i >= 1 do
    local c = math.floor(nums[i] / CHUNK)
    local j = i
    while j > 1 and i - j < 499 and math.floor(nums[j - 1] / CHUNK) == c do j = j - 1 end
    local fields = {}
    for k = i, j, -1 do fields[#fields + 1] = nums[k] end
    local got = redis.call('HMGET', P .. '#d:' .. c, unpack(fields))
    for k, n in ipairs(fields) do each(n, got[k] or '') end
    i = j - 1
  end
end

-- Phrases ------------------------------------------------------------------------------------

-- Makes the keyword a phrase, its matches (every one, of any status) its postings. Optional: at
-- maxmemory it does not happen. Answers whether it happened.
local function register(nums)
  redis.set_repl(redis.REPL_ALL)
  local g = '#p' .. keyword
  local written, per = {}, {}
  for c = 0, math.floor(last / CHUNK) do
    written[#written + 1] = chunk_key(P, g, c)
    per[c] = {}
  end
  redis.call('DEL', unpack(written))
  for _, n in ipairs(nums) do table.insert(per[math.floor(n / CHUNK)], n % CHUNK) end
  local failed = false
  for c, offs in pairs(per) do
    local r
    if #offs > SET_MAX then
      r = redis.pcall('SET', chunk_key(P, g, c), bitmap_of(offs))
    elseif #offs > 0 then
      r = redis.pcall('SADD', chunk_key(P, g, c), unpack(offs))
    end
    if type(r) == 'table' and r.err then
      failed = true
      break
    end
  end
  if not failed then
    if redis.call('ZCARD', PHRASES) >= PHRASES_MAX then
      drop_phrase(P, redis.call('ZRANGE', PHRASES, 0, 0)[1])
    end
    local r = redis.pcall('ZADD', PHRASES, now_ms(), keyword)
    failed = type(r) == 'table' and r.err ~= nil
  end
  if failed then redis.call('DEL', unpack(written)) end
  redis.set_repl(redis.REPL_NONE)
  return not failed
end

-- A keyword with many candidates to confirm (whatever the status filter) becomes a phrase: they
-- are confirmed once, here, and from then on the phrase is counted like a gram.
if confirm and exact == '' and not none and not rare then
  local chunks = chunk_results(chunked)
  local candidates = 0
  for _, r in ipairs(chunks) do candidates = candidates + r.n end
  if candidates >= PHRASE_MIN then
    local matched = {}
    for _, r in ipairs(chunks) do
      read_docs(numbers(r), function(n, d)
        if #d >= TEXT_AT and string.find(d, keyword, TEXT_AT, true) then matched[#matched + 1] = n end
      end)
    end
    if register(matched) then
      chunked = {'#p' .. keyword}
      confirm = false
    end
  end
end

-- The page ---------------------------------------------------------------------------------

local total, page, docs = 0, {}, {}

-- Takes candidates one by one, highest number first: each is checked on its document, counted,
-- and kept when it falls on the page. The exact live_id joins in its place.
local function consider(n, is_exact, d)
  d = d or doc_get(P, n)
  if not d or #d < TEXT_AT then return end
  if status_byte and string.byte(d, 17) ~= status_byte then return end
  if confirm and not is_exact and not string.find(d, keyword, TEXT_AT, true) then return end
  total = total + 1
  if total > offset and total <= offset + count then
    page[#page + 1] = n
    docs[n] = d
  end
end
local function take(n, d)
  if exact_n and exact_n >= n then
    local e = exact_n
    exact_n = nil
    consider(e, true)
    if e == n then return end
  end
  consider(n, false, d)
end

if none then
  -- a gram no room has: only the exact live_id can match
elseif rare then
  read_docs(rare, take)
else
  local filters = {}
  for _, g in ipairs(chunked) do filters[#filters + 1] = g end
  if status ~= '' then filters[#filters + 1] = '#s' .. status end
  if #filters == 0 then filters[1] = '#all' end
  local chunks = chunk_results(filters)

  if confirm or exact_n then
    -- every candidate is read and checked
    for _, r in ipairs(chunks) do read_docs(numbers(r), take) end
  else
    -- counts per chunk; only the page's rooms are listed
    for _, r in ipairs(chunks) do total = total + r.n end
    local skip = offset
    for _, r in ipairs(chunks) do
      if #page >= count then break end
      if skip >= r.n then
        skip = skip - r.n
      elseif r.nums then
        for i = #r.nums - skip, 1, -1 do
          page[#page + 1] = r.nums[i]
          if #page >= count then break end
        end
        skip = 0
      else
        local s = r.str or redis.call('GET', r.key) or ''
        -- from the byte of the highest number yet (bitmaps are allocated whole)
        for i = math.min(#s, math.floor((last - r.base) / 8) + 1), 1, -1 do
          local b = string.byte(s, i)
          if b ~= 0 then
            local k = popcount(b)
            if skip >= k then
              skip = skip - k
            else
              -- lowest bit first: the highest offset of the byte
              local at = r.base + (i - 1) * 8 + 7
              while b ~= 0 do
                if b % 2 == 1 then
                  if skip > 0 then
                    skip = skip - 1
                  elseif #page < count then
                    page[#page + 1] = at
                  end
                  b = b - 1
                end
                b = b / 2
                at = at - 1
              end
            end
          end
          if #page >= count then break end
        end
        skip = 0
      end
    end
  end
end
-- the exact live_id, when no candidate came after it
if exact_n then consider(exact_n, true) end

-- the page's documents not read yet, by chunk
local missing = {}
for _, n in ipairs(page) do
  if not docs[n] then
    local c = math.floor(n / CHUNK)
    missing[c] = missing[c] or {}
    table.insert(missing[c], n)
  end
end
for c, nums in pairs(missing) do
  local got = redis.call('HMGET', P .. '#d:' .. c, unpack(nums))
  for k, n in ipairs(nums) do docs[n] = got[k] end
end
local ids, cards = {}, {}
for _, n in ipairs(page) do
  local bin = doc_parse(docs[n])
  if bin then
    local hex = bin_to_hex(bin)
    ids[#ids + 1] = 'live_' .. hex
    -- the room's card (issue 18), false when it has none: the caller reads that room
    cards[#ids] = redis.call('HGET', card_key(P, hex), bin)
  end
end
if #temps > 0 then redis.call('DEL', unpack(temps)) end
return {total, ids, cards}
