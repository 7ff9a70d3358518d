-- Shared by the scripts of the users' pointers (user_*.lua; prepended when they are loaded).
-- A pointer keeps its room compact (issue 27, bytes a member): a live_id is `live_` and 32 hex
-- digits (domain/ids.rs), 37 bytes; the pointer keeps the 16 bytes they spell in base64url
-- without padding, 22 bytes (keys.rs `pointer_room` reads it back). A pointer written before
-- keeps its live_id as it was: `same_room` knows both forms.
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

local function compact_room(live_id)
  if #live_id ~= 37 or string.sub(live_id, 1, 5) ~= 'live_' then return live_id end
  local out = {}
  -- `bits` bits of n, six at a time, most significant first
  local function put(n, bits)
    for shift = bits - 6, 0, -6 do
      local d = math.floor(n / 2 ^ shift) % 64
      out[#out + 1] = string.sub(B64, d + 1, d + 1)
    end
  end
  -- five groups of three bytes (six hex digits), then the last byte and four zero bits
  for i = 6, 30, 6 do put(tonumber(string.sub(live_id, i, i + 5), 16), 24) end
  put(tonumber(string.sub(live_id, 36, 37), 16) * 16, 12)
  return table.concat(out)
end

-- Whether a pointer's room (either form) is the room `live_id`.
local function same_room(stored, live_id)
  return stored == live_id or (stored ~= '' and stored == compact_room(live_id))
end
