--! KEYS: users
-- Gives the user an im_userid the first time it is seen; the first allocation wins a race.
-- KEYS[1]: the bucket of the user's pointer (user_join.lua). ARGV: user_id, a fresh number
-- from the counter, then what the user's own hash of the layout before the buckets held
-- (keys.rs `legacy_user`): its im_userid and seq ('' when none).
-- A user carried over keeps their im_userid, and their seqs continue above the old ones (the
-- rooms' entries remember seqs of the old pointer): every seq of the record moves up by the
-- old seq, and the caller adds the same to the seq it took (`shift`).
-- Answers {im_userid, shift}.
local rec = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local seq, imid, room = string.match(rec, '^(%d*)\t(%d*)\t(.*)$')
if imid and imid ~= '' then return {tonumber(imid), 0} end
local shift = tonumber(ARGV[4]) or 0
imid = ARGV[3] ~= '' and ARGV[3] or ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], ((tonumber(seq) or 0) + shift) .. '\t' .. imid .. '\t' .. (room or ''))
return {tonumber(imid), shift}
