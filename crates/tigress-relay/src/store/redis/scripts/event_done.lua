-- event_done: the oldest undelivered event was delivered or given up; the next becomes the
-- oldest, and the hash goes once the mailbox's last event is done.
-- KEYS[1] events. ARGV[1] {seq (decimal)}: nothing happens unless it is still the oldest.
-- Answers {}.
local input = cjson.decode(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'head', 'seq', 'end')
if not f[1] or f[1] ~= input.seq then return cjson.encode({}) end
local head = tonumber(f[1])
redis.call('HDEL', KEYS[1], 'e' .. head, 'f', 'next')
redis.call('HSET', KEYS[1], 'head', head + 1)
if head + 1 > tonumber(f[2]) and f[3] == '1' then redis.call('DEL', KEYS[1]) end
return cjson.encode({})
