-- Step 3 of a create with a request id: sets the de-duplication key only if nobody changed it
-- since step 1.
-- KEYS[1] the create de-duplication key.
-- ARGV[1] JSON {seen (the id step 1 read; absent for none), id (the new one), expires_at}.
-- Answers {claimed: true when the key now names `id`}.
local input = cjson.decode(ARGV[1])
local seen = redis.call('GET', KEYS[1])
if (seen or nil) ~= input.seen then return cjson.encode({claimed = false}) end
redis.call('SET', KEYS[1], input.id, 'EXAT', input.expires_at)
return cjson.encode({claimed = true})
