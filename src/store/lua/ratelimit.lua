--! KEYS: window
-- Adds a replica's requests of one window to the shared count. KEYS[1] the window's counter.
-- ARGV: how many, ttl_ms. Answers the count of every replica so far.
local total = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return total
