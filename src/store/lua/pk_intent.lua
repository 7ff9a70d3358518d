--! KEYS: pk_rooms pk_due pk_of
-- A PK's intents and its end, in `{rooms}` (keys as pk_reserve.lua). ARGV: op, then
--   'add' pk_id token grace_ms: a change of the PK is under way (the sweep finishes it after
--        the grace); 0 when the PK is already released (over: nothing is owed).
--   'done' pk_id token next_due_ms: the change's rooms are converged; the intent goes unless a
--        newer one (another token) replaced it; an inviting PK stays due at its expiry
--        (next_due_ms > 0). Answers 1, or 0 when another token holds it.
--   'release' pk_id: the PK ended and both rooms show it: the rooms' reservations (those still
--        naming it), its schedule and its record of rooms go. Answers 1.
--   'poke' live_id: the room ended: its PK, if any, is due now (the sweep ends it). Answers the
--        pk_id, or false.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
if op == 'poke' then
  local id = redis.call('HGET', KEYS[1], ARGV[2])
  if id then redis.call('ZADD', KEYS[2], now, id) end
  return id
end
local id = ARGV[2]
local of = redis.call('HGET', KEYS[3], id)
if op == 'release' then
  if of then
    local _, init, target = string.match(of, '^([^\t]*)\t([^\t]*)\t([^\t]*)$')
    for _, room in ipairs({init, target}) do
      if room and redis.call('HGET', KEYS[1], room) == id then redis.call('HDEL', KEYS[1], room) end
    end
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  return 1
end
if not of then return 0 end
local token, rooms = string.match(of, '^([^\t]*)\t(.*)$')
if op == 'add' then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), id)
  redis.call('HSET', KEYS[3], id, ARGV[3] .. '\t' .. rooms)
  return 1
end
-- 'done'
if token ~= ARGV[3] then return 0 end
local next_due = tonumber(ARGV[4])
if next_due > 0 then
  redis.call('ZADD', KEYS[2], next_due, id)
else
  redis.call('ZREM', KEYS[2], id)
end
redis.call('HSET', KEYS[3], id, '-\t' .. rooms)
return 1
