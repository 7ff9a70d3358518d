--! KEYS: (lib.lua)
-- A page of current members, most recent joiner first. ARGV: window_ms, offset, count.
-- A read: it never writes. Lapsed members not yet trimmed (the sweeper trims them within a
-- second of their lapse) are left out of the page and of the total by their score.
-- Answers {'OK', total, {user, entry, user, entry, ...}}.
local window, offset, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOT_FOUND'} end
local total = present_count(now_ms(), window)
local out = {}
if total == 0 then return {'OK', 0, out} end
local users = order_page(offset, count)
if #users == 0 then return {'OK', total, out} end
local beats = redis.call('ZMSCORE', KEYS[2], unpack(users))
local buckets = entry_buckets()
for i, user in ipairs(users) do
  if is_present(beats[i], now_ms(), window) then
    out[#out + 1] = user
    out[#out + 1] = entry_get(user, buckets) or ''
  end
end
return {'OK', total, out}
