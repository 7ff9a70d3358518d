--! KEYS: sweep_due sweep_claims
-- The sweeper is done with a room it claimed: the room's next due time, or out of the schedule
-- when nothing about it can come due (no members, no presence to watch). KEYS[1] the schedule,
-- KEYS[2] the claims. ARGV: live_id, token, next due ms (-1: nothing due; 0: at once).
-- When the room changed while it was swept (dirty), it comes due at once instead; when another
-- replica has claimed it since (this one's lease ran out), that replica decides.
local id, token, next_due = ARGV[1], ARGV[2], tonumber(ARGV[3])
local claim = redis.call('HGET', KEYS[2], id)
if claim ~= token and claim ~= 'dirty' then return 0 end
redis.call('HDEL', KEYS[2], id)
if claim == 'dirty' then next_due = 0 end
if next_due < 0 then
  redis.call('ZREM', KEYS[1], id)
else
  redis.call('ZADD', KEYS[1], next_due, id)
end
return 1
