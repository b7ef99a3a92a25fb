-- Step 1 of a create with a request id: whether the sender's last request on this live mailbox
-- is still that create.
-- input: {now, sender, record (the create's)}.
-- Answers {status = "ok", token_type (the sender's, absent for none)} or {status = "nf"}.
if not live() or not is_replay(input.sender, input.record) then return NOT_FOUND end
return cjson.encode({status = 'ok', token_type = opt(redis.call('HGET', KEYS[1], 'stk'))})
