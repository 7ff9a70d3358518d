-- The sweeper's trim of lapsed members. ARGV: window_ms.
-- Answers {'OK', members left, {user, seq, ...} removed}.
local removed = trim_lapsed(now_ms(), tonumber(ARGV[1]))
return {'OK', redis.call('ZCARD', KEYS[2]), removed}
