--! KEYS: (lib.lua)
-- One heartbeat (the function is heartbeat_fn.lua, prepended with lib.lua).
-- KEYS: the room's. ARGV: user_id, "profile json", window_ms.
return heartbeat(ARGV[1], ARGV[2], tonumber(ARGV[3]))
