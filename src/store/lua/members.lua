-- A page of current members, most recent joiner first. ARGV: window_ms, offset, count.
-- Lapsed members are removed first, so the page and its total never include them.
-- Answers {'OK', total, {user, entry, user, entry, ...}}.
local window, offset, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
trim_lapsed(now_ms(), window)
local total = redis.call('ZCARD', KEYS[3])
local users = redis.call('ZREVRANGE', KEYS[3], offset, offset + count - 1)
local out = {}
for _, user in ipairs(users) do
  out[#out + 1] = user
  out[#out + 1] = redis.call('HGET', KEYS[4], user) or ''
end
return {'OK', total, out}
