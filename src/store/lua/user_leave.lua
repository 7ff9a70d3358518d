--! KEYS: users
-- The user's side of a leave. KEYS[1]: the bucket of the user's pointer (user_join.lua).
-- ARGV: user_id, live_id, the room as the pointer keeps it (pointer_lib.lua).
-- Answers {the seq of this leave, 1 when the user has an im_userid (0: first seen in the
-- buckets, maybe a user of the older layout to carry over first)}.
local rec = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local seq, imid, room = string.match(rec, '^(%d*)\t(%d*)\t(.*)$')
seq = (tonumber(seq) or 0) + 1
if not same_room(room, ARGV[2], ARGV[3]) then room = room or '' else room = '' end
redis.call('HSET', KEYS[1], ARGV[1], seq .. '\t' .. (imid or '') .. '\t' .. room)
return {seq, (imid and imid ~= '') and 1 or 0}
