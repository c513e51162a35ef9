-- Delete counted state values of one environment (a batch of a bulk delete) and their counts.
-- KEYS[1], KEYS[2]: the environment's ledger (see state_set.lua)
-- ARGV: the environment's key prefix, then the members to delete.
-- Returns {live values removed, counted bytes, counted values}.
local live, bytes, items = 0, 0, 0
for index = 2, #ARGV do
  local member = ARGV[index]
  live = live + redis.call('UNLINK', ARGV[1] .. member)
  local counted = redis.call('HGET', KEYS[1], member)
  if counted then
    bytes = bytes + tonumber(counted)
    items = items + 1
  end
  redis.call('HDEL', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
return {live, bytes, items}
