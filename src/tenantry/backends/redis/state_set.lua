-- Store one state value and its count in its environment's ledger, if its condition holds.
-- KEYS[1]: the value's key (state:{tenant}:{env}:{team}:{session})
-- KEYS[2]: state-sizes:{tenant}:{env} (hash: member -> counted bytes)
-- KEYS[3]: state-expiry:{tenant}:{env} (sorted set: member -> expiry, ms of the server's TIME)
-- ARGV: member ({team}:{session}, the value's key after the environment's key prefix), how
-- many expired members to purge first at most, the value, its time to live in milliseconds
-- (0: none), and the condition:
--   'any'     always: the store's quota counts nothing, so there is no room to reserve;
--   'fits'    when it replaces a counted value at least as large: it needs no new room;
--   a number  only if the counted size is still that one (-1: none), the size the writer
--             reserved room against after an earlier call answered 0.
-- Returns '{1 when written else 0} {the counted size found before writing, -1: none}
-- {purged bytes} {purged values}': one string, because redis-py without hiredis parses a
-- reply array element by element, which cost about 50 us a write here.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local bytes, items = 0, 0
if tonumber(ARGV[2]) > 0 then
  -- state:{tenant}:{env}: derived, not sent: every argument costs the client its encoding.
  local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
  for _, member in ipairs(expired) do
    local size = redis.call('HGET', KEYS[2], member)
    -- Gone already on Redis's own clock (the same one); unlinked to be sure it never outlives
    -- its count.
    redis.call('UNLINK', prefix .. member)
    redis.call('HDEL', KEYS[2], member)
    redis.call('ZREM', KEYS[3], member)
    if size then
      bytes = bytes + tonumber(size)
      items = items + 1
    end
  end
end
local found = redis.call('HGET', KEYS[2], ARGV[1])
local counted = found and tonumber(found) or -1
local size = string.len(ARGV[3])
local condition = ARGV[5]
local ok
if condition == 'any' then
  ok = true
elseif condition == 'fits' then
  ok = counted >= size
else
  ok = counted == tonumber(condition)
end
if not ok then
  return table.concat({0, counted, bytes, items}, ' ')
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
if counted ~= size then  -- an overwrite of the same size leaves its count as it is
  redis.call('HSET', KEYS[2], ARGV[1], size)
end
return table.concat({1, counted, bytes, items}, ' ')
