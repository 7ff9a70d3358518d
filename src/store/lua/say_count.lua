--! KEYS: (lib.lua)
-- A sharded room's online count, added up over its shards by the caller (store/shards.rs),
-- said in the room's own log: each room of members announces its own count to its caller
-- (lib.lua count_event) instead of saying it, and the caller says the room's sum here,
-- coalesced as any online_count (at most one a second, only when it moved).
-- ARGV: the count. Answers {said (0/1), in how many ms to say it again (-1: no need)}.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HGET', KEYS[1], 'live_status') == '2' then
  return {0, -1}
end
local now = now_ms()
local count = tonumber(ARGV[1])
-- the highest online count of the live (stats), as said
if redis.call('HGET', KEYS[1], 'live_status') == '1'
  and count > (tonumber(redis.call('HGET', KEYS[1], 'peak')) or 0) then
  redis.call('HSET', KEYS[1], 'peak', count)
end
if coalesce(now, count, 'toc_sent', 'toc_at', 'toc_due') then
  emit(now, 'online_count', {online_count = count})
  return {1, -1}
end
-- coalesced: the caller says it again when the second ends (every caller that was coalesced,
-- so that one whose retry came early and was coalesced again still has one to come)
local due = tonumber(redis.call('HGET', KEYS[1], 'toc_due'))
if due then return {0, math.max(due - now, 1)} end
return {0, -1}
