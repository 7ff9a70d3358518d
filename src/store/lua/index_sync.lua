-- Brings the global indexes in line with one room, after the room's own atomic change.
-- Idempotent and ordered by the room's version: a late, older update is ignored.
-- ARGV: gram prefix, live_id, ver, status ('0'|'1'|'2'|'d' deleted), created_ms, started_ms,
--       close deadline ms, purge deadline ms (0: keep), folded text.
local prefix, id, ver, status = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local created, started, close_at, purge_at, text =
  ARGV[5], ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local applied = redis.call('HGET', KEYS[6], id)
if applied == 'd' then return 0 end
if status ~= 'd' and applied and tonumber(applied) >= ver then return 0 end

local old_text = redis.call('HGET', KEYS[7], id)
local old_grams = old_text and grams_of(old_text) or {}
local new_grams = status ~= 'd' and grams_of(text) or {}
for g in pairs(old_grams) do
  if not new_grams[g] then redis.call('SREM', prefix .. g, id) end
end
for g in pairs(new_grams) do
  if not old_grams[g] then redis.call('SADD', prefix .. g, id) end
end

redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
if status == 'd' then
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[5], id)
  redis.call('HDEL', KEYS[7], id)
  redis.call('ZREM', KEYS[8], id)
  redis.call('ZREM', KEYS[9], id)
  redis.call('HSET', KEYS[6], id, 'd')
  return 1
end
redis.call('ZADD', KEYS[1], created, id)
redis.call('ZADD', KEYS[2 + tonumber(status)], created, id)
if status == '1' then
  redis.call('ZADD', KEYS[5], started, id)
  redis.call('ZADD', KEYS[8], close_at, id)
else
  redis.call('ZREM', KEYS[5], id)
  redis.call('ZREM', KEYS[8], id)
end
if status == '2' and purge_at > 0 then redis.call('ZADD', KEYS[9], purge_at, id) end
redis.call('HSET', KEYS[7], id, text)
redis.call('HSET', KEYS[6], id, ver)
return 1
