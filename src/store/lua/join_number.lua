--! KEYS: (lib.lua)
-- A join into one of a sharded room's shard rooms takes the room's next join number here
-- first (issue 27; store/shards.rs), atomically with checking that the room's shards are those
-- the join was routed by: from the first number on, the shards are fixed (shards.lua). A
-- number lost with a replica that dies before the shard's join is a gap, nothing more.
-- ARGV: the shards the join was routed by. Answers {'OK', number}, {'SHARDS', shards} or
-- NOT_FOUND.
local h = redis.call('HMGET', KEYS[1], 'live_status', 'shards')
if not h[1] then return {'NOT_FOUND'} end
local shards = tonumber(h[2]) or 1
if shards ~= tonumber(ARGV[1]) then return {'SHARDS', shards} end
return {'OK', redis.call('HINCRBY', KEYS[1], 'jn', 1)}
