--! KEYS: user
-- The user's side of a leave. ARGV: live_id. Answers the seq of this leave.
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
if redis.call('HGET', KEYS[1], 'room') == ARGV[1] then redis.call('HDEL', KEYS[1], 'room') end
return seq
