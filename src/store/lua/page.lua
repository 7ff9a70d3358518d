--! KEYS: set
-- A page of a sorted set, highest score first. KEYS[1] the set. ARGV: offset, count.
-- Answers {total, {member, ...}}.
local offset, count = tonumber(ARGV[1]), tonumber(ARGV[2])
return {redis.call('ZCARD', KEYS[1]), redis.call('ZREVRANGE', KEYS[1], offset, offset + count - 1)}
