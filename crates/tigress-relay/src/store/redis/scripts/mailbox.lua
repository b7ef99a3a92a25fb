-- The start of every mailbox script (each file is appended to this one).
-- KEYS[1] box, KEYS[2] log, KEYS[3] requests, KEYS[4] events: one hash tag. All four exist while
-- the mailbox does, so that a slot migration moves them together and a script sees all or none
-- of them (a mailbox made before the events hash has three, and is read as having no endpoint).
-- ARGV[1] one JSON object, decoded into `input`; every script's has `now` (Unix seconds).
-- ARGV[2] the wake channel (a shard channel of the same hash tag; not a key, since a channel is
-- never present on a node and would make every script a partial multi-key command during a
-- slot migration). ARGV[3] "1" when the relay waits for replicas after the script: then every
-- script on a live mailbox writes (an unchanged EXPIREAT), so that the WAIT that follows also
-- covers earlier writes that it answers from (a replayed create, a binding read again).
-- Each answers one JSON object whose `status` is "ok", "replayed", "nf" (absent: missing,
-- expired or deleted) or "denied" with `denial` naming the Denial. Absent values are left out,
-- never null: the Rust side reads them as None.
local input = cjson.decode(ARGV[1])
local WAKE = ARGV[2]
local SETTLE = ARGV[3] == '1'
-- Absent when missing or expires_at <= now (mailbox::is_expired).
local function live()
  local exp = redis.call('HGET', KEYS[1], 'exp')
  local alive = exp and tonumber(exp) > input.now
  if alive and SETTLE then redis.call('EXPIREAT', KEYS[1], exp) end
  return alive
end
-- Caller::matches: a stored digest is the caller's keyed one or, for a mailbox made before the
-- relay had a key, its plain one (`input.legacy`, absent on a relay without a key).
local function is_caller(stored, caller)
  return stored == caller or (input.legacy ~= nil and stored == input.legacy)
end
-- Parties::role_of: a claim equal to the sender's is always the sender.
local function role_of(caller)
  local p = redis.call('HMGET', KEYS[1], 's', 'r')
  if p[1] and is_caller(p[1], caller) then return 's' end
  if p[2] and is_caller(p[2], caller) then return 'r' end
  return nil
end
-- mailbox::is_replay: the claim's last record (under its stored digest, else its plain one) is
-- this operation with this request id.
local function is_replay(caller, record)
  if record == nil then return false end
  local last = redis.call('HGET', KEYS[3], caller)
  if not last and input.legacy ~= nil then last = redis.call('HGET', KEYS[3], input.legacy) end
  return last == record
end
-- Remembers the claim's last request; the hash expires with the mailbox.
local function remember(caller, record)
  if record == nil then return end
  redis.call('HSET', KEYS[3], caller, record)
  redis.call('EXPIREAT', KEYS[3], redis.call('HGET', KEYS[1], 'exp'))
end
-- Redis answers false for a missing field; nil leaves it out of the JSON answer.
local function opt(v)
  if v then return v end
  return nil
end
local function denied(denial)
  return cjson.encode({status = 'denied', denial = denial})
end
local NOT_FOUND = cjson.encode({status = 'nf'})
-- Lifecycle events (docs/EVENTS.md). For a mailbox whose create named an endpoint, KEYS[4]
-- holds `ep` (the endpoint), `seq` (the last event's number), `head` (the oldest undelivered),
-- `exp` (the mailbox's expiry), `end` ("1" once it was deleted or expired) and each undelivered
-- event as `e<n>`: {k (its type), w and m (a message's writer and place), at (when), r (when
-- recorded)}. It has no expiry: it outlives the mailbox until its events are delivered. For
-- another mailbox it holds a placeholder and expires with the mailbox.
local EVENTED = false
local function record_event(kind, writer, message_seq)
  if not KEYS[4] or not redis.call('HGET', KEYS[4], 'ep') then return end
  local seq = redis.call('HINCRBY', KEYS[4], 'seq', 1)
  local event = {k = kind, at = input.now, r = input.now}
  if writer then event.w, event.m = writer, tostring(message_seq) end
  redis.call('HSET', KEYS[4], 'e' .. seq, cjson.encode(event))
  EVENTED = true
end
-- A script's answer; `ev` tells the relay that an event waits, to index the mailbox at once.
local function reply(answer)
  if EVENTED then answer.ev = true end
  return cjson.encode(answer)
end
