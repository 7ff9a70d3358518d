-- Shared by the scripts of the users' pointers (user_*.lua; prepended when they are loaded).
-- A pointer keeps its room compact (issue 27, bytes a member): the 16 bytes of the live_id in
-- base64url, 22 bytes instead of 37, computed by the caller (keys.rs `pointer_value`) and
-- passed beside the live_id. A pointer written before keeps the live_id as it was:
-- `same_room` knows both forms.
local function same_room(stored, live_id, compact)
  return stored ~= nil and stored ~= '' and (stored == live_id or stored == compact)
end
