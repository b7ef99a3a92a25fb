-- refused: a device that is not a party was refused a read; an event for the endpoint, if any.
-- input: {now}.
-- Answers {status = "ok"} or "nf".
if not live() then return NOT_FOUND end
record_event('mailbox.refused_claim')
return reply({status = 'ok'})
