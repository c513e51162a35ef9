-- Store one state value only if its counted size is still the one the writer counted.
-- KEYS[1]: the value's key (state:{tenant}:{env}:{team}:{session})
-- KEYS[2], KEYS[3]: the environment's ledger (see state_counted.lua)
-- ARGV: member, the counted size the write was counted against (-1: none), the value, and its
-- time to live in milliseconds (0: none).
-- Returns 1 when written, 0 when another writer came first (nothing written).
local counted = redis.call('HGET', KEYS[2], ARGV[1])
if (counted and tonumber(counted) or -1) ~= tonumber(ARGV[2]) then
  return 0
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], string.len(ARGV[3]))
return 1
