--! KEYS: pk
-- A PK's record, in its own slot (`{pk_…}`): the one place that decides what the PK is; the
-- rooms follow it (pk_room.lua). Every change bumps `ver`, so that the rooms apply only what
-- is newer than what they show. ARGV: op, user ('' for the service itself), then per op:
--   'create' pk_id init_live init_anchor target_live target_anchor invite_ms: status inviting
--            (idempotent: an existing record is answered as it is);
--   'accept' (the target's anchor): inviting and not expired -> active;
--   'reject' (the target's anchor): inviting -> ended 'rejected';
--   'stop' admin('1'|'0') (either anchor, or an admin): inviting or active -> ended 'stopped'
--          ('admin' by an admin);
--   'expire': inviting and past its expiry -> ended 'expired' (else unchanged);
--   'room_ended': inviting or active -> ended 'room_ended';
--   'extends' json (either anchor): active: the extends replaced.
-- An ended record stays readable an hour. Answers {'OK', fields...} (HGETALL), {'NOT_FOUND'},
-- {'FORBIDDEN'}, {'PK_CONFLICT', why}.
local KEPT_MS = 3600000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, user = ARGV[1], ARGV[2]
local function answer()
  local h = redis.call('HGETALL', KEYS[1])
  table.insert(h, 1, 'OK')
  return h
end
if op == 'create' then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('HSET', KEYS[1], 'pk_id', ARGV[3], 'status', 'inviting', 'init_live_id', ARGV[4],
      'init_anchor_id', ARGV[5], 'target_live_id', ARGV[6], 'target_anchor_id', ARGV[7],
      'created_ms', now, 'expires_ms', now + tonumber(ARGV[8]), 'start_ms', 0, 'end_ms', 0,
      'ended_reason', '', 'extends', '{}', 'ver', 1)
  end
  return answer()
end
local h = redis.call('HMGET', KEYS[1], 'status', 'init_anchor_id', 'target_anchor_id',
  'expires_ms')
local status = h[1]
if not status then return {'NOT_FOUND'} end
local function finish(reason)
  redis.call('HSET', KEYS[1], 'status', 'ended', 'end_ms', now, 'ended_reason', reason)
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
  redis.call('PEXPIRE', KEYS[1], KEPT_MS)
  return answer()
end
local either = user ~= '' and (user == h[2] or user == h[3])
if op == 'accept' or op == 'reject' then
  if user ~= h[3] then return {'FORBIDDEN'} end
  if status ~= 'inviting' then return {'PK_CONFLICT', 'the PK is ' .. status .. ', not inviting'} end
  if op == 'reject' then return finish('rejected') end
  if now >= tonumber(h[4]) then return {'PK_CONFLICT', 'the invitation expired'} end
  redis.call('HSET', KEYS[1], 'status', 'active', 'start_ms', now)
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
  return answer()
end
if op == 'stop' then
  local admin = ARGV[3] == '1'
  if not admin and not either then return {'FORBIDDEN'} end
  if status == 'ended' then return {'PK_CONFLICT', 'the PK has already ended'} end
  return finish(admin and 'admin' or 'stopped')
end
if op == 'expire' then
  if status == 'inviting' and now >= tonumber(h[4]) then return finish('expired') end
  return answer()
end
if op == 'room_ended' then
  if status == 'ended' then return answer() end
  return finish('room_ended')
end
if op == 'extends' then
  if not either then return {'FORBIDDEN'} end
  if status ~= 'active' then return {'PK_CONFLICT', 'the PK is ' .. status .. ', not active'} end
  redis.call('HSET', KEYS[1], 'extends', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
  return answer()
end
return redis.error_reply('pk_record: unknown op ' .. tostring(op))
