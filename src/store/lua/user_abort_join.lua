--! KEYS: user
-- Undoes the user's side of a join the room refused. ARGV: live_id, seq, previous room.
-- The seq goes back too: the refused join wrote nothing anywhere, and the rooms compare user
-- pointers by seq when they release them (user_release.lua).
-- Answers 1 when restored; 0 when a later join or leave of the user came in between (the caller
-- then leaves the previous room itself, as that later join did not know to).
if tonumber(redis.call('HGET', KEYS[1], 'seq')) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', tonumber(ARGV[2]) - 1)
if redis.call('HGET', KEYS[1], 'room') == ARGV[1] then
  if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'room') else redis.call('HSET', KEYS[1], 'room', ARGV[3]) end
end
return 1
