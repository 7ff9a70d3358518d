--! KEYS: (lib.lua)
-- Makes a shard room of a sharded room (issue 27), the first time a member is routed to it
-- (store/shards.rs): its hash mirrors the room's fields that the per-room scripts read, so
-- that join, heartbeat, leave, kick and the sweep run on it as on any room. Idempotent: a
-- shard room made before keeps its own counters, and its status never goes back (a stop that
-- reached it first stays). ARGV: field, value pairs (live_status among them).
-- Answers 1.
local status = redis.call('HGET', KEYS[1], 'live_status')
for i = 1, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if not (field == 'live_status' and status and tonumber(status) >= tonumber(value)) then
    redis.call('HSET', KEYS[1], field, value)
  end
end
return 1
