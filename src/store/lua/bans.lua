--! KEYS: (lib.lua)
-- A page of the room's bans still running, soonest to end first. Reads only: ended bans are left
-- out by score (kick.lua and the key's expiry take them away).
-- KEYS: the room's (lib.lua), KEYS[10] the room's bans.
-- ARGV: actor user_id, '1' when the actor is an admin, offset, count.
-- Answers {'OK', total, {user, end ms, ...}}.
local actor, admin = ARGV[1], ARGV[2] == '1'
local offset, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local anchor = redis.call('HGET', KEYS[1], 'anchor_id')
if not anchor then return {'NOT_FOUND'} end
if not admin and anchor ~= actor then return {'FORBIDDEN'} end
local now = now_ms()
local total = redis.call('ZCOUNT', KEYS[10], '(' .. now, '+inf')
local rows = redis.call('ZRANGEBYSCORE', KEYS[10], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', offset, count)
return {'OK', total, rows}
