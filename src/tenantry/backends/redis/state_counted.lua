-- The counted size of one state value, after purging expired values of its environment.
-- KEYS[1]: state-sizes:{tenant}:{env} (hash: member -> counted bytes)
-- KEYS[2]: state-expiry:{tenant}:{env} (sorted set: member -> expiry, ms of the server's TIME)
-- ARGV: member ({team}:{session}), the environment's key prefix (state:{tenant}:{env}:), and
-- how many expired members to purge at most.
-- Returns {counted bytes or -1 when none, purged bytes, purged values}.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local bytes, items = 0, 0
for _, member in ipairs(expired) do
  local size = redis.call('HGET', KEYS[1], member)
  -- Gone already on Redis's own clock (the same one); unlinked to be sure it never outlives
  -- its count.
  redis.call('UNLINK', ARGV[2] .. member)
  redis.call('HDEL', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  if size then
    bytes = bytes + tonumber(size)
    items = items + 1
  end
end
local counted = redis.call('HGET', KEYS[1], ARGV[1])
return {counted and tonumber(counted) or -1, bytes, items}
