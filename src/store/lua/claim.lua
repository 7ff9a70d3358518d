--! KEYS: sweep_due sweep_claims close_at purge_at followups followup_of pk_due pk_of
-- What is due, claimed by one replica: rooms to sweep (lapses, releases, anchor presence,
-- unsaid online counts), anchor-offline closes and retention purges, at most ARGV[2] of each.
-- A claim moves the entry lease_ms ahead, so other replicas do not take it meanwhile, and a
-- replica that dies mid-way leaves it to come due again when the lease runs out.
-- KEYS[1] the sweep schedule, KEYS[2] its claims, KEYS[3] close deadlines, KEYS[4] purge
-- deadlines, KEYS[5] owed follow-ups (intent.lua), KEYS[6] their owners, KEYS[7] PKs due
-- (pk_intent.lua: a change cut short, an invitation's expiry), KEYS[8] their rooms and tokens.
-- ARGV: lease_ms, max, token. Answers {rooms to sweep, rooms to close, rooms to purge,
-- {live_id, owner}... of the follow-ups to replay, {pk_id, of}... of the PKs to finish}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, max, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local function take(key, claims)
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, max)
  for _, id in ipairs(ids) do
    redis.call('ZADD', key, now + lease, id)
    if claims then redis.call('HSET', claims, id, token) end
  end
  return ids
end
local owed = {}
for _, id in ipairs(take(KEYS[5], nil)) do
  owed[#owed + 1] = id
  owed[#owed + 1] = redis.call('HGET', KEYS[6], id) or ''
end
local pks = {}
for _, id in ipairs(take(KEYS[7], nil)) do
  pks[#pks + 1] = id
  pks[#pks + 1] = redis.call('HGET', KEYS[8], id) or ''
end
return {take(KEYS[1], KEYS[2]), take(KEYS[3], nil), take(KEYS[4], nil), owed, pks}
