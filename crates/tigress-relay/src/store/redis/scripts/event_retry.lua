-- event_retry: an attempt at the oldest undelivered event failed; it is due again at `next`.
-- KEYS[1] events. ARGV[1] {seq, failures, next (decimals)}: nothing happens unless `seq` is
-- still the oldest.
-- Answers {}.
local input = cjson.decode(ARGV[1])
if redis.call('HGET', KEYS[1], 'head') == input.seq then
  redis.call('HSET', KEYS[1], 'f', input.failures, 'next', input.next)
end
return cjson.encode({})
