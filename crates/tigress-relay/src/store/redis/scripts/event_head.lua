-- event_head: a mailbox's oldest undelivered event, recording its expiry first when it has
-- expired with nothing left to send (Redis erases a mailbox's keys by itself, so this is where
-- an expiry is noticed).
-- KEYS[1] box, KEYS[2] events (the mailbox's hash tag). ARGV[1] {now}.
-- Answers {state = "gone"} (no events hash, or everything sent after the last event: the hash
-- is erased), {state = "idle", exp} (nothing to send until the mailbox expires or changes), or
-- {state = "due", endpoint, seq (decimal), event (as recorded), failures, next (decimal)}.
local input = cjson.decode(ARGV[1])
local f = redis.call('HMGET', KEYS[2], 'ep', 'seq', 'head', 'end', 'exp', 'f', 'next')
if not f[1] then return cjson.encode({state = 'gone'}) end
local last, head = tonumber(f[2]), tonumber(f[3])
if head > last then
  if f[4] == '1' then
    redis.call('DEL', KEYS[2])
    return cjson.encode({state = 'gone'})
  end
  local exp = redis.call('HGET', KEYS[1], 'exp')
  if exp and tonumber(exp) > input.now then return cjson.encode({state = 'idle', exp = exp}) end
  last = last + 1
  local event = cjson.encode({k = 'mailbox.expired', at = tonumber(f[5]), r = input.now})
  redis.call('HSET', KEYS[2], 'seq', last, 'end', '1', 'e' .. last, event)
end
return cjson.encode({state = 'due', endpoint = f[1], seq = tostring(head),
  event = redis.call('HGET', KEYS[2], 'e' .. head), failures = tonumber(f[6] or '0'),
  next = f[7] or '0'})
