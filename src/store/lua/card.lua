--! KEYS: (index_lib.lua)
-- Refreshes a room's card at the version the index has (issue 18: the online count and the other
-- counts as just said). ARGV: P, live_id, ver, card. Only a room the index holds at exactly that
-- version: an older read is stale, a newer one is the index sync's to write (it carries the
-- card). Answers 1 when written, 0 otherwise.
local P, id, ver, card = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local hex = string.sub(id, 6)
if redis.call('ZSCORE', DELETED, hex) then return 0 end
local bin = hex_to_bin(hex)
local n = tonumber(redis.call('HGET', map_key(P, hex), bin))
if not n then return 0 end
local _, _, v = doc_parse(doc_get(P, n))
if v ~= ver then return 0 end
redis.call('HSET', card_key(P, hex), bin, card)
return 1
