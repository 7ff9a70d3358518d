--! KEYS: users
-- Clears the user's pointer once the room let the user go (lapse, stop, delete, close), unless
-- the user has joined or left anything since. KEYS[1]: the bucket of the user's pointer
-- (user_join.lua). ARGV: user_id, live_id, seq, the room as the pointer keeps it
-- (pointer_lib.lua).
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return 0 end
local seq, imid, room = string.match(rec, '^(%d*)\t(%d*)\t(.*)$')
if same_room(room, ARGV[2], ARGV[4]) and tonumber(seq) == tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], seq .. '\t' .. imid .. '\t')
  return 1
end
return 0
