--! KEYS: user
-- The user's side of a join: takes the next seq and points the user at the room.
-- KEYS[1] the user's hash. ARGV: live_id. Answers {seq, previous room or '', im_userid or ''}.
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local prev = redis.call('HGET', KEYS[1], 'room') or ''
redis.call('HSET', KEYS[1], 'room', ARGV[1])
return {seq, prev, redis.call('HGET', KEYS[1], 'imid') or ''}
