-- Deletes the room, whatever its state. ARGV: user_id.
-- Answers {'OK', released members {user, seq, ...}}.
local user = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('HGET', KEYS[1], 'anchor_id') ~= user then return {'FORBIDDEN'} end
local users = redis.call('ZRANGE', KEYS[2], 0, -1)
local out = {}
for _, u in ipairs(users) do
  out[#out + 1] = u
  out[#out + 1] = tostring(entry_seq(redis.call('HGET', KEYS[4], u)))
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return {'OK', out}
