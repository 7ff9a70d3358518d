--! KEYS: (lib.lua)
-- Ends one of a sharded room's shard rooms once the room itself ended (store/shards.rs: the
-- end's follow-up, replayed under the room's intent): the room's end, O(1) whatever the crowd,
-- its members set aside for the sweep to release. A shard room says nothing of it (lib.lua
-- `emit`: the room's own log says it once). Idempotent: an ended or missing shard room is left
-- as it is. ARGV: the end's reason. Answers the members set aside.
local status = redis.call('HGET', KEYS[1], 'live_status')
if not status or status == '2' then return 0 end
return end_room(now_ms(), ARGV[1])
