--! KEYS: (lib.lua)
-- Converges one room to what its PK's record says (docs/architecture.md, "Cross-room PK"). The
-- room keeps `pk_state` (pk_id TAB the record's ver TAB invited|active|ended) and shows `pk_id`
-- while the PK is active. Applies only what is newer than what the room shows: a replay, or a
-- late call of an older change, changes nothing; an ended PK stays ended (a tombstone, until the
-- room's next PK). Each event is written once, by the call that makes its change.
-- ARGV: pk_id, ver, state (invited|active|ended), the room is the target ('1'|'0'), reason
-- (ended), extends JSON, init live_id, init anchor, target live_id.
-- Answers {'OK', changed (0|1)}, or {'GONE'} when the room cannot be in the PK (not live, or
-- deleted) for invited / active: the caller ends the PK (room_ended).
local id, ver, state, is_target = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1'
local h = redis.call('HMGET', KEYS[1], 'live_status', 'pk_state', 'pk_id')
local cur_id, cur_ver, cur_state
if h[2] and h[2] ~= '' then
  cur_id, cur_ver, cur_state = string.match(h[2], '^([^\t]*)\t(%d+)\t(%a+)$')
  cur_ver = tonumber(cur_ver)
end
local now = now_ms()
local function data(extra)
  extra.pk_id = id
  extra.init_live_id = ARGV[7]
  extra.target_live_id = ARGV[9]
  return extra
end
if state == 'ended' then
  if not h[1] then return {'OK', 0} end
  if cur_id == id then
    if cur_state == 'ended' then return {'OK', 0} end
    redis.call('HSET', KEYS[1], 'pk_state', id .. '\t' .. ver .. '\tended')
    if h[3] == id then redis.call('HSET', KEYS[1], 'pk_id', '') end
    emit(now, 'pk_ended', data({reason = ARGV[5]}))
    return {'OK', 1}
  end
  -- never showed it: a tombstone, so that a late call of an older step cannot bring it in
  if not cur_id or cur_state == 'ended' then
    redis.call('HSET', KEYS[1], 'pk_state', id .. '\t' .. ver .. '\tended')
  end
  return {'OK', 0}
end
if cur_id == id and (cur_state == 'ended' or cur_ver >= ver) then return {'OK', 0} end
-- another PK the room is in (cannot happen while the reservations hold): leave it be
if cur_id and cur_id ~= id and cur_state ~= 'ended' then return {'GONE'} end
if h[1] ~= '1' then return {'GONE'} end
local was = cur_id == id and cur_state or nil
redis.call('HSET', KEYS[1], 'pk_state', id .. '\t' .. ver .. '\t' .. state)
if state == 'invited' then
  if is_target and not was then emit(now, 'pk_invited', data({user_id = ARGV[8]})) end
  return {'OK', 1}
end
-- active
redis.call('HSET', KEYS[1], 'pk_id', id)
local extends = cjson.decode(ARGV[6])
if was ~= 'active' then
  emit(now, 'pk_started', data({extends = extends}))
else
  emit(now, 'pk_updated', data({extends = extends}))
end
return {'OK', 1}
