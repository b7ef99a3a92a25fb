-- forget_token: drops a party's push token, only if it is still the one that failed.
-- input: {now, role ("s" or "r"), token_data}.
-- Answers {status = "ok"} (whether or not the token was still there) or "nf".
if not live() then return NOT_FOUND end
if redis.call('HGET', KEYS[1], input.role .. 'td') == input.token_data then
  redis.call('HDEL', KEYS[1], input.role .. 'tk', input.role .. 'td')
end
return cjson.encode({status = 'ok'})
