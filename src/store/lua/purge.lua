--! KEYS: (lib.lua)
-- Removes an ended room whose retention has passed. ARGV: none.
-- Answers {'OK'} when removed, {'KEEP'} when the room is not ended (never purge a live room).
-- Members still being released (KEYS[8], KEYS[9]) and entries of more than one bucket
-- (lib.lua set_entries_aside) are left to the room's sweep, which carries on without the room.
if redis.call('HGET', KEYS[1], 'live_status') ~= '2' then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'OK'} end
  return {'KEEP'}
end
set_entries_aside()
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[10])
return {'OK'}
