--! KEYS: lease
-- A lease that lets one replica at a time deliver a room's webhooks, in order.
-- KEYS[1] the lease. ARGV: 'take' | 'renew' | 'release', owner, ttl_ms. Answers 1 when it holds.
local op, owner, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if op == 'take' then
  if redis.call('SET', KEYS[1], owner, 'NX', 'PX', ttl) then return 1 end
  if redis.call('GET', KEYS[1]) == owner then redis.call('PEXPIRE', KEYS[1], ttl); return 1 end
  return 0
end
if redis.call('GET', KEYS[1]) ~= owner then return 0 end
if op == 'renew' then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('DEL', KEYS[1]) end
return 1
