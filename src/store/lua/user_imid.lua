--! KEYS: user
-- Gives the user an im_userid the first time it is seen; the first allocation wins a race.
-- ARGV: a fresh number from the counter. Answers the user's im_userid.
redis.call('HSETNX', KEYS[1], 'imid', ARGV[1])
return redis.call('HGET', KEYS[1], 'imid')
