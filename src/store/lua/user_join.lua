--! KEYS: users
-- The user's side of a join: takes the next seq and points the user at the room.
-- KEYS[1] the bucket hash of the user's pointer (keys.rs `user_pointers`): field = user_id,
-- value = "seq TAB im_userid TAB room" (im_userid and room may be empty; the room compact,
-- pointer_lib.lua).
-- ARGV: user_id, the room as the pointer keeps it (pointer_lib.lua). Answers {seq, previous room or '' (as the pointer keeps it), im_userid or ''}.
local rec = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local seq, imid, prev = string.match(rec, '^(%d*)\t(%d*)\t(.*)$')
seq = (tonumber(seq) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[1], seq .. '\t' .. (imid or '') .. '\t' .. ARGV[2])
return {seq, prev or '', imid or ''}
