--! KEYS: followups followup_of
-- The intents of changes that span slots (docs/architecture.md, "Changes that span slots"), in
-- the `{rooms}` slot: KEYS[1] rooms whose follow-ups are owed (zset: live_id -> when the sweep
-- carries them out if nobody has), KEYS[2] who owes them (hash: live_id -> token TAB anchor).
-- ARGV: op, live_id, token, then for 'add': the anchor ('' when unknown), delay_ms, the user a
-- kick removes ('' for any other change; its pointer and the online total are followed up),
-- the room's member shards (store/shards.rs; a replay of a deleted room's follow-ups ends its
-- shard rooms by it: the room's hash is gone).
--   'add':  written before the room's own script; a newer intent of the room replaces an older.
--   'done': the follow-ups are done: the intent goes, unless a newer one (another token)
--           replaced it meanwhile, whose change may not have been followed yet.
-- Answers 1, or 0 for a 'done' that found another token.
local op, id, token = ARGV[1], ARGV[2], ARGV[3]
if op == 'add' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), id)
  local of = token .. '\t' .. ARGV[4]
  local shards = tonumber(ARGV[7]) or 1
  if shards > 1 then
    of = of .. '\t' .. (ARGV[6] or '') .. '\t' .. shards
  elseif ARGV[6] and ARGV[6] ~= '' then
    of = of .. '\t' .. ARGV[6]
  end
  redis.call('HSET', KEYS[2], id, of)
  return 1
end
local held = redis.call('HGET', KEYS[2], id)
if held and string.sub(held, 1, #token + 1) == token .. '\t' then
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  return 1
end
return 0
