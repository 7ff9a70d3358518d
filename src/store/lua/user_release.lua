--! KEYS: user
-- Clears the user's pointer once the room let the user go (lapse, stop, delete, close), unless
-- the user has joined or left anything since. ARGV: live_id, seq.
if redis.call('HGET', KEYS[1], 'room') == ARGV[1]
  and tonumber(redis.call('HGET', KEYS[1], 'seq')) == tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], 'room')
  return 1
end
return 0
