-- The room's stream stopped publishing: stream_status 0. The anchor's presence is left to lapse
-- at the end of its window. ARGV: none. Answers {'OK'} or {'NOT_FOUND'}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
redis.call('HSET', KEYS[1], 'stream_status', '0')
return {'OK'}
