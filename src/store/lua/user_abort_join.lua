--! KEYS: users
-- Undoes the user's side of a join the room refused. KEYS[1]: the bucket of the user's pointer
-- (user_join.lua). ARGV: user_id, live_id, seq, the previous room and this room as the pointer
-- keeps them (pointer_lib.lua).
-- The seq goes back too: the refused join wrote nothing anywhere, and the rooms compare user
-- pointers by seq when they release them (user_release.lua).
-- Answers 1 when restored; 0 when a later join or leave of the user came in between (the caller
-- then leaves the previous room itself, as that later join did not know to).
local rec = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local seq, imid, room = string.match(rec, '^(%d*)\t(%d*)\t(.*)$')
if tonumber(seq) ~= tonumber(ARGV[3]) then return 0 end
if same_room(room, ARGV[2], ARGV[5]) then room = ARGV[4] end
redis.call('HSET', KEYS[1], ARGV[1], (tonumber(ARGV[3]) - 1) .. '\t' .. imid .. '\t' .. room)
return 1
