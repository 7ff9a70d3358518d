--! KEYS: (index_lib.lua)
-- A page of the live list with each room's card (issue 18): one script, one slot. KEYS: the
-- index keys ([1] live rooms, zset: live_id -> started ms). ARGV: P, offset, count.
-- Answers {total, {live_id, ...}, {card or false, ...}}: a room without a card (indexed before
-- cards existed) is read by the caller.
local P, offset, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + count - 1)
local cards = {}
for i, id in ipairs(ids) do
  local hex = string.sub(id, 6)
  cards[i] = redis.call('HGET', card_key(P, hex), hex_to_bin(hex))
end
return {redis.call('ZCARD', KEYS[1]), ids, cards}
