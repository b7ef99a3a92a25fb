-- relinquish: replay first, then mailbox::decide_relinquish; unbinds the receiver, drops its
-- token, and wakes the sender's waiting reads.
-- input: {now, caller, record (absent for none)}.
-- Answers {status = "ok"}, "replayed", "nf", or "denied" (NotReceiver).
if not live() then return NOT_FOUND end
if is_replay(input.caller, input.record) then return cjson.encode({status = 'replayed'}) end
if role_of(input.caller) ~= 'r' then return denied('NotReceiver') end
redis.call('HDEL', KEYS[1], 'r', 'rtk', 'rtd')
remember(input.caller, input.record)
record_event('mailbox.relinquished')
redis.call('SPUBLISH', WAKE, '')
return reply({status = 'ok'})
