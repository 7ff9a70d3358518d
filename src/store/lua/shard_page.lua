--! KEYS: (lib.lua)
-- What a page of a sharded room's members reads of one of its rooms of members (store/shards.rs).
-- Their join orders share the room's join numbers (join_number.lua): chunk i holds numbers
-- 64(i − 1) + 1 … 64i in every shard, so that a page over all of them is one Fenwick descent
-- over their trees together, then the chunks it lands in, merged by number. A read.
-- ARGV: op, then
--   'head', window_ms: {'OK', members in the join order, the tree's cap, members present}
--   'nodes', pos, step, levels: {'NODES', counts}: the tree's counts over the nodes a descent
--     from (pos, step) may read in its next `levels` levels, level by level (level l: the
--     chunks (pos + 2i·s, pos + (2i + 1)·s], s = step / 2^l, i from 0), so that a descent
--     over 16 000 chunks is two rounds of reads; the cap a descent starts from may be above
--     this tree's (a tree of cap c holds nothing above chunk c)
--   'chunk', i, window_ms: {'OK', {user, entry, present (0/1), …}} for chunk i's members
-- or NOT_FOUND.
local op = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
local cap = tonumber(redis.call('HGET', K[3], 'cap')) or 0
local size = tonumber(redis.call('HGET', K[3], 'n')) or 0
if op == 'head' then
  return {'OK', size, cap, present_count(now_ms(), tonumber(ARGV[2]))}
elseif op == 'nodes' then
  local pos, step, levels = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local counts, fields, places = {}, {}, {}
  for l = 0, levels - 1 do
    local s = math.floor(step / (2 ^ l))
    for i = 0, 2 ^ l - 1 do
      local at = pos + (2 * i + 1) * s
      if at - s >= cap then
        counts[#counts + 1] = 0
      elseif at > cap then
        -- a node above this tree's cap whose range starts below it starts at 0 (the descent's
        -- ranges are aligned): the range holds all of this tree
        counts[#counts + 1] = size
      else
        counts[#counts + 1] = 0
        fields[#fields + 1] = 'f' .. at
        places[#places + 1] = #counts
      end
    end
  end
  if #fields > 0 then
    local read = redis.call('HMGET', K[3], unpack(fields))
    for k, place in ipairs(places) do counts[place] = tonumber(read[k]) or 0 end
  end
  return {'NODES', counts}
end
local i, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local users = {}
for user in string.gmatch(redis.call('HGET', K[3], 'c' .. i) or '', '([^\n]*)\n') do
  users[#users + 1] = user
end
local out = {}
if #users == 0 then return {'OK', out} end
local beats = redis.call('ZMSCORE', KEYS[2], unpack(users))
local buckets = entry_buckets()
local now = now_ms()
for k, user in ipairs(users) do
  out[#out + 1] = user
  out[#out + 1] = entry_get(user, buckets) or ''
  out[#out + 1] = is_present(beats[k], now, window) and 1 or 0
end
return {'OK', out}
