-- Delete one state value and its count.
-- KEYS[1]: the value's key; KEYS[2], KEYS[3]: the environment's ledger (see state_set.lua)
-- ARGV: member.
-- Returns {1 if a live value was removed else 0, counted bytes or -1 when it was not counted}.
local live = redis.call('UNLINK', KEYS[1])
local counted = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return {live, counted and tonumber(counted) or -1}
