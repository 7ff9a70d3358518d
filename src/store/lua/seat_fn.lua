-- Shared by the seat scripts (prepended after lib.lua; store/scripts.rs): their KEYS are the
-- room's (lib.lua) and then K[11], the room's pending seat requests of an `apply` room (hash:
-- user -> "asked ms\tmic\tcamera\textends json"), which expires a request's lapse after its last
-- write, so that requests left behind by a room's end or delete go by themselves.
-- Seats themselves are fields of the room's hash (lib.lua, "Co-host seats").

-- A member present now (not lapsed): the only kind of user a seat or a request may name.
local function present(user, now, window)
  local last = redis.call('ZSCORE', K[2], user)
  return is_present(last, now, window)
end

-- The room's seat count; a room created before seats gets the configured one on first use.
local function seat_count(default)
  redis.call('HSETNX', K[1], 'seats', default)
  return tonumber(redis.call('HGET', K[1], 'seats'))
end

-- The lowest free seat (nil: all taken). At most `seats` seats read. A seat whose holder is not
-- a present member is freed on the way (`lapsed` when its window ran out and the sweep has not
-- yet been by; `left` when it is not in the room at all, which only a replica of a version
-- without seats can leave behind, during a rolling upgrade): a seat is never kept from the
-- members by someone who is not one.
local function free_seat(count, now, window)
  for n = 1, count do
    local holder = seat_holder(redis.call('HGET', K[1], 'seat:' .. n))
    if not holder then return n end
    if not present(holder, now, window) then
      local gone = redis.call('ZSCORE', K[2], holder) and 'lapsed' or 'left'
      seat_free(now, holder, gone)
      return n
    end
  end
  return nil
end

-- Seats `user` on seat `n`: seat_taken. Answers the moment it was taken.
local function seat_take(now, n, user, mic, camera, extends)
  redis.call('HSET', K[1], 'seat:' .. n,
    table.concat({user, mic, camera, tostring(now), extends}, '\t'), 'seat@' .. user, n)
  emit(now, 'seat_taken', {user_id = user, seat = n, mic = mic == '1', camera = camera == '1'})
  return now
end

-- The pending requests, those that lapsed (older than `lapse_ms`) or whose asker is no longer a
-- present member dropped, so that neither counts against the cap (at most the cap of them:
-- seat_take.lua caps the hash). Answers the live ones (user -> raw).
local function live_requests(now, lapse_ms, window)
  local all = redis.call('HGETALL', K[11])
  local live, gone = {}, {}
  for i = 1, #all, 2 do
    local asked = tonumber(string.match(all[i + 1], '^(%d+)')) or 0
    if asked + lapse_ms <= now or not present(all[i], now, window) then
      gone[#gone + 1] = all[i]
    else
      live[all[i]] = all[i + 1]
    end
  end
  if #gone > 0 then redis.call('HDEL', K[11], unpack(gone)) end
  return live
end
