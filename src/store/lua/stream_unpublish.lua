--! KEYS: (lib.lua)
-- The room's stream stopped publishing: stream_status 0. The anchor's presence is left to lapse
-- at the end of its window. ARGV: none. Answers {'OK', 1 when stream_status changed} or
-- {'NOT_FOUND'}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
if redis.call('HGET', KEYS[1], 'stream_status') == '0' then return {'OK', 0} end
redis.call('HSET', KEYS[1], 'stream_status', '0')
return {'OK', 1}
