-- delete: mailbox::decide_delete, then erases every key and wakes every waiting reader.
-- input: {now, caller}.
-- Answers {status = "ok"}, "nf", or "denied" (NotAParty, RightMissing).
if not live() then return NOT_FOUND end
local role = role_of(input.caller)
if not role then return denied('NotAParty') end
if role == 'r' and redis.call('HGET', KEYS[1], 'd') ~= '1' then
  return denied('RightMissing')
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SPUBLISH', WAKE, '')
return cjson.encode({status = 'ok'})
