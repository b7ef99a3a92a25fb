-- update: replay first (nothing is written), then mailbox::decide_update and
-- mailbox::check_append; appends to the log, replaces the payload slot, wakes waiting readers.
-- input: {now, caller, payload_type, payload_data, size (of payload_data), entry (the log
--   element's payload JSON), token_type and token_data (absent for none), record (absent for
--   none), max_messages and max_bytes (decimal strings: operator settings, unbounded)}.
-- Answers {status = "ok" or "replayed", token_type (the caller's), peer ("s" or "r"),
--   peer_token_type and peer_token_data (the peer's token, to wake it; all three absent when
--   the peer has none, and always on a replay)}, "nf", or "denied" (NotAParty, RightMissing,
--   LogFull).
if not live() then return NOT_FOUND end
local role = role_of(input.caller)
if is_replay(input.caller, input.record) then
  local kind = nil
  if role then kind = opt(redis.call('HGET', KEYS[1], role .. 'tk')) end
  return cjson.encode({status = 'replayed', token_type = kind})
end
if not role then return denied('NotAParty') end
if role == 'r' and redis.call('HGET', KEYS[1], 'w') ~= '1' then
  return denied('RightMissing')
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes'))
if seq >= tonumber(input.max_messages)
    or bytes + input.size > tonumber(input.max_bytes) then
  return denied('LogFull')
end
redis.call('RPUSH', KEYS[2], role .. input.entry)
local writer = 'receiver'
if role == 's' then writer = 'sender' end
record_event('mailbox.message_written', writer, seq + 1)
redis.call('HSET', KEYS[1], 'pt', input.payload_type, 'pd', input.payload_data, 'seq', seq + 1,
  'bytes', bytes + input.size)
if input.token_type then
  redis.call('HSET', KEYS[1], role .. 'tk', input.token_type, role .. 'td', input.token_data)
end
remember(input.caller, input.record)
redis.call('SPUBLISH', WAKE, '')
local peer = 's'
if role == 's' then peer = 'r' end
local token = redis.call('HMGET', KEYS[1], role .. 'tk', peer .. 'tk', peer .. 'td')
local answer = {status = 'ok', token_type = opt(token[1])}
if token[2] and token[3] then
  answer.peer, answer.peer_token_type, answer.peer_token_data = peer, token[2], token[3]
end
return reply(answer)
