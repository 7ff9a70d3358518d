--! KEYS: pk_rooms pk_due pk_of pk_invites
-- The first step of a PK invitation (docs/architecture.md, "Cross-room PK"), in `{rooms}`: both
-- rooms are reserved for the PK atomically (a room is in at most one PK: two invitations racing
-- for one room, one wins) and the PK's intent is recorded, so that whatever step a replica dies
-- in, the sweep finishes the PK from here.
-- KEYS[1] pk_rooms (hash: live_id -> the PK it is in, inviting or active), KEYS[2] pk_due (zset:
-- pk_id -> when the sweep looks at it: an intent's grace, an invitation's expiry), KEYS[3] pk_of
-- (hash: pk_id -> token TAB init live_id TAB target live_id), KEYS[4] the inviting anchor's
-- invitations this hour (a counter: the cap on PK records one anchor can make).
-- ARGV: pk_id, init live_id, target live_id, token, grace_ms, invitations per hour at most,
-- the counter's lifetime (ms).
-- Answers {'OK'}, {'PK_CONFLICT', why} or {'QUOTA', why}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, init, target, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local grace, max, window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local held = redis.call('HMGET', KEYS[1], init, target)
if held[1] then return {'PK_CONFLICT', 'live_id is already in a PK (' .. held[1] .. ')'} end
if held[2] then
  return {'PK_CONFLICT', 'target_live_id is already in a PK (' .. held[2] .. ')'}
end
local sent = tonumber(redis.call('GET', KEYS[4])) or 0
if sent >= max then
  return {'QUOTA', 'at most ' .. max .. ' PK invitations an hour per anchor; try again later'}
end
redis.call('INCR', KEYS[4])
if sent == 0 then redis.call('PEXPIRE', KEYS[4], window) end
redis.call('HSET', KEYS[1], init, id, target, id)
redis.call('ZADD', KEYS[2], now + grace, id)
redis.call('HSET', KEYS[3], id, token .. '\t' .. init .. '\t' .. target)
return {'OK'}
