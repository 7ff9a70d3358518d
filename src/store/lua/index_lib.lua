-- Shared by the index scripts (prepended when loaded). Every index key shares one hash tag:
--   KEYS[1] all rooms (zset: live_id -> created ms), KEYS[2..4] rooms by status 0/1/2 (same score),
--   KEYS[5] live rooms (zset: live_id -> started ms), KEYS[6] applied versions (hash: live_id -> ver,
--   or 'd' once deleted), KEYS[7] folded search text (hash: live_id -> "title\31nick"),
--   KEYS[8] offline-close deadlines (zset), KEYS[9] retention deadlines of ended rooms (zset).
-- ARGV[1] is the prefix of the gram sets (one set of live_ids per character and per character pair).

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
