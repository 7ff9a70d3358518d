-- A page of rooms matching a folded keyword, newest created first.
-- ARGV: gram prefix, keyword (folded; '' = every room), status filter ('' or '0'|'1'|'2'),
--       offset, count, a live_id to match exactly ('' when the keyword is not of that form).
-- Answers {total, {live_id, ...}}.
local prefix, keyword, status = ARGV[1], ARGV[2], ARGV[3]
local offset, count, exact = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local order = KEYS[1]
if status ~= '' then order = KEYS[2 + tonumber(status)] end

if keyword == '' then
  return {redis.call('ZCARD', order), redis.call('ZREVRANGE', order, offset, offset + count - 1)}
end

local chars = chars_of(keyword)
local candidates
if #chars == 1 then
  candidates = redis.call('SMEMBERS', prefix .. chars[1])
else
  local keys, seen = {}, {}
  for i = 1, #chars - 1 do
    local g = prefix .. chars[i] .. chars[i + 1]
    if not seen[g] then seen[g] = true; keys[#keys + 1] = g end
  end
  candidates = redis.call('SINTER', unpack(keys))
  if #chars > 2 then
    -- pairs can all occur without the whole keyword: confirm on the text itself
    local confirmed = {}
    for _, id in ipairs(candidates) do
      local text = redis.call('HGET', KEYS[7], id)
      if text and string.find(text, keyword, 1, true) then confirmed[#confirmed + 1] = id end
    end
    candidates = confirmed
  end
end
if exact ~= '' and redis.call('ZSCORE', order, exact) then
  local dup = false
  for _, id in ipairs(candidates) do if id == exact then dup = true; break end end
  if not dup then candidates[#candidates + 1] = exact end
end

local rows = {}
local chunk = 4000
for i = 1, #candidates, chunk do
  local part = {}
  for j = i, math.min(i + chunk - 1, #candidates) do part[#part + 1] = candidates[j] end
  local scores = redis.call('ZMSCORE', order, unpack(part))
  for j, id in ipairs(part) do
    if scores[j] then rows[#rows + 1] = {tonumber(scores[j]), id} end
  end
end
table.sort(rows, function(a, b)
  if a[1] ~= b[1] then return a[1] > b[1] end
  return a[2] > b[2]
end)
local page = {}
for i = offset + 1, math.min(offset + count, #rows) do page[#page + 1] = rows[i][2] end
return {#rows, page}
