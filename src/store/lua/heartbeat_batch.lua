--! KEYS: [room members order entries anchor events]...
-- The heartbeats that reached one replica at once, in one call (store/heartbeats.rs): the
-- same function as heartbeat.lua, run for each in turn, so each answer is exactly the one its
-- own call would have given.
-- KEYS: per room the six keys a heartbeat touches (lib.lua's K[1]-K[4], K[6], K[7]; not the
-- uv, the set-aside members or the bans: heartbeat_fn.lua never reads them), on one node: one
-- room on a Redis Cluster (one slot), any rooms on a single Redis.
-- ARGV: window_ms, then per heartbeat three: the room's place among the KEYS (1 = KEYS[1..10]),
-- user_id, "profile json".
-- Answers one heartbeat.lua answer per heartbeat, in order.
local window = tonumber(ARGV[1])
local answers = {}
for i = 2, #ARGV, 3 do
  local base = (tonumber(ARGV[i]) - 1) * 6
  -- back in lib.lua's places; K[5] (uv) and K[8]-K[10] stay nil
  K = {KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4], nil,
    KEYS[base + 5], KEYS[base + 6]}
  -- what one call reports is per heartbeat: start each from nothing written
  written.events, written.due_in, written.announced = 0, -1, 0
  answers[#answers + 1] = heartbeat(ARGV[i + 1], ARGV[i + 2], window)
end
return answers
