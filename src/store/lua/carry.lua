--! KEYS: room members order entries anchor events
-- Presence carried by open event streams (src/fanout.rs): one room's watching members, kept
-- present by the replica that holds their streams, in one call. Each is heartbeat_fn.lua's
-- heartbeat, so a refresh never creates a member (a leave, a kick or a lapse is final), except
-- that the room's anchor is skipped: its stream is not a member's, and its presence is its own
-- (start, publishing, its heartbeat).
-- KEYS: the six keys a heartbeat touches (heartbeat_batch.lua's group, one room).
-- ARGV: window_ms, then per member two: user_id, "profile json".
-- Answers one heartbeat.lua answer per member, in order ({'ANCHOR'} for the room's anchor).
local window = tonumber(ARGV[1])
K = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], nil, KEYS[5], KEYS[6]}
local answers = {}
for i = 2, #ARGV, 2 do
  written.events, written.due_in, written.announced = 0, -1, 0
  local head = room_head()
  if head[1] and head[2] == ARGV[i] then
    answers[#answers + 1] = {'ANCHOR'}
  else
    answers[#answers + 1] = heartbeat(ARGV[i], ARGV[i + 1], window)
  end
end
return answers
