-- create: writes a new mailbox; every key gets the mailbox's EXPIREAT.
-- input: {now, expires_at, sender, rights, write, delete (booleans), payload_type,
--   payload_data, size (of payload_data), title, description, image_url, entry (the first log
--   element), token_type and token_data (absent for none), record (absent for none),
--   max_receivers (absent for no cap), display_url (absent when the display is inline; the
--   three display fields are then empty), endpoint (the event endpoint, absent for none)}.
-- Answers {status = "ok"}; an id already in use is an error reply (ids are random: a bug).
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('mailbox id in use') end
local function flag(granted)
  if granted then return '1' end
  return '0'
end
redis.call('HSET', KEYS[1], 'exp', input.expires_at, 's', input.sender, 'rights', input.rights,
  'w', flag(input.write), 'd', flag(input.delete), 'pt', input.payload_type,
  'pd', input.payload_data, 'ti', input.title, 'de', input.description, 'im', input.image_url,
  'seq', 1, 'bytes', input.size)
if input.token_type then
  redis.call('HSET', KEYS[1], 'stk', input.token_type, 'std', input.token_data)
end
if input.max_receivers then redis.call('HSET', KEYS[1], 'mr', input.max_receivers) end
if input.display_url then redis.call('HSET', KEYS[1], 'du', input.display_url) end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('RPUSH', KEYS[2], input.entry)
redis.call('EXPIREAT', KEYS[2], input.expires_at)
-- The requests hash exists from the start, with a field no claim hash can equal.
redis.call('HSET', KEYS[3], '-', '')
redis.call('EXPIREAT', KEYS[3], input.expires_at)
remember(input.sender, input.record)
if input.endpoint then
  redis.call('HSET', KEYS[4], 'ep', input.endpoint, 'seq', 0, 'head', 1, 'exp', input.expires_at)
  record_event('mailbox.created')
else
  redis.call('HSET', KEYS[4], '-', '')
  redis.call('EXPIREAT', KEYS[4], input.expires_at)
end
redis.call('EXPIREAT', KEYS[1], input.expires_at)
return reply({status = 'ok'})
