-- GCRA in one round trip: the same arithmetic, in the same order, as tenancy/limits/gcra.py.
-- KEYS[1]: limit:{tenant}:{class}, holding the theoretical arrival time (TAT) in seconds.
-- ARGV: rate (per second), burst, cost, and optionally now (seconds; empty: the server's TIME,
-- so every API process shares one clock). Numbers go back as strings: Lua numbers that reach
-- Redis as replies are truncated to integers.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[4] ~= nil and ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local epsilon = 1e-9
local interval = 1.0 / rate
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
local base = math.max(tat, now)
local new_tat = base + cost * interval
local ahead = new_tat - now
local function fmt(x) return string.format('%.17g', x) end
if ahead > tolerance + epsilon then
  return {0, fmt(tat), fmt(ahead - tolerance), 0, fmt(base - now)}
end
local remaining = math.max(0, math.floor((tolerance - ahead) / interval + epsilon))
-- The key lives until the bucket is full again; a missing key is an idle tenant.
redis.call('SET', KEYS[1], fmt(new_tat), 'PX', math.ceil(ahead * 1000) + 1)
return {1, fmt(new_tat), fmt(0.0), remaining, fmt(ahead)}
