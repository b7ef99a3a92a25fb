-- events_due: claims the mailboxes whose events are due, for this relay, for a lease: their
-- score moves to the lease's end, so no other relay takes them meanwhile; a relay that dies
-- holding one leaves it to the next after the lease.
-- KEYS[1] the index of mailboxes with events (one hash tag of its own). ARGV[1] {now, lease
-- (when the lease ends), limit}.
-- Answers the claimed mailbox ids (hex), as an array.
local input = cjson.decode(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', input.now, 'LIMIT', 0, input.limit)
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], input.lease, member) end
return due
