-- delete: mailbox::decide_delete, then erases every key (but the events hash of a mailbox with
-- an endpoint, which keeps its last event, `mailbox.deleted`) and wakes every waiting reader.
-- input: {now, caller}.
-- Answers {status = "ok"}, "nf", or "denied" (NotAParty, RightMissing).
if not live() then return NOT_FOUND end
local role = role_of(input.caller)
if not role then return denied('NotAParty') end
if role == 'r' and redis.call('HGET', KEYS[1], 'd') ~= '1' then
  return denied('RightMissing')
end
record_event('mailbox.deleted')
if EVENTED then
  redis.call('HSET', KEYS[4], 'end', '1')
else
  redis.call('DEL', KEYS[4])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SPUBLISH', WAKE, '')
return reply({status = 'ok'})
