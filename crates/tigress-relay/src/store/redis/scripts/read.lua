-- read: mailbox::decide_read. A party reads; a fresh claim binds when the slot is empty and
-- `mr` (maxReceivers) allows one more than the `rb` bound so far (the script runs alone, so of
-- concurrent first reads exactly one binds). A bind wakes the sender's waiting reads.
-- input: {now, caller, after (the cursor, a decimal string: it may exceed 2^53),
--   token_type and token_data (absent for none)}.
-- Answers {status = "ok", role ("s" or "r"), payload_type, payload_data, title, description,
--   image_url, display_url (when given instead), expires_at and last_seq (decimal strings, as
--   stored), receiver_bound,
--   just_bound (booleans), sender_token_type and sender_token_data (only when this read bound),
--   messages (the log elements after `after`; absent when none, as cjson would encode an
--   empty list as {})}, "nf", or "denied" (AlreadyClaimed, NoReceiversLeft).
if not live() then return NOT_FOUND end
-- Everything that can fail runs before the first write, so a failing read binds nobody. The
-- cursor goes to LRANGE as the decimal string it came as: Lua would print a large number in
-- floating-point notation, which Redis refuses.
local log = redis.call('LRANGE', KEYS[2], input.after, -1)
local role = role_of(input.caller)
local bound = false
if not role then
  if redis.call('HEXISTS', KEYS[1], 'r') == 1 then return denied('AlreadyClaimed') end
  local max = redis.call('HGET', KEYS[1], 'mr')
  local count = tonumber(redis.call('HGET', KEYS[1], 'rb') or '0')
  if max and count >= tonumber(max) then return denied('NoReceiversLeft') end
  redis.call('HSET', KEYS[1], 'r', input.caller, 'rb', count + 1)
  redis.call('SPUBLISH', WAKE, '')
  record_event('mailbox.bound')
  role = 'r'
  bound = true
end
if input.token_type then
  redis.call('HSET', KEYS[1], role .. 'tk', input.token_type, role .. 'td', input.token_data)
end
local b = redis.call('HMGET', KEYS[1], 'pt', 'pd', 'ti', 'de', 'im', 'exp', 'seq', 'r', 'stk',
  'std', 'du')
local answer = {status = 'ok', role = role, payload_type = b[1], payload_data = b[2],
  title = b[3], description = b[4], image_url = b[5], expires_at = b[6], last_seq = b[7],
  receiver_bound = b[8] ~= false, just_bound = bound, display_url = opt(b[11])}
if bound then
  answer.sender_token_type, answer.sender_token_data = opt(b[9]), opt(b[10])
end
if #log > 0 then answer.messages = log end
return reply(answer)
