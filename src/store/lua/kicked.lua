--! KEYS: (lib.lua)
-- What a kick's replay needs (store/intents.rs `kicked_seq`): the seq at which a kick removed
-- the user, while the user is still out. A read. ARGV: user_id.
-- Answers the seq, or -1 when the user's entry is not a kick's (rejoined since, or never kicked).
local user = ARGV[1]
local seq = string.match(entry_get(user) or '', '^(%d+)\tkicked$')
if not seq or redis.call('ZSCORE', KEYS[2], user) then return -1 end
return tonumber(seq)
