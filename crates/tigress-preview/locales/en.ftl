# The share link's preview page, English: the fallback for every other language.
# Placeables: $app is the wallet app's name from the relay's configuration; $count a number;
# $date a date and time in UTC, already written out.

shared-with-you = A key was shared with you
kind-label = Kind of key
kind-car = Car key
kind-home = Home key
kind-access = Access key (a door, a room, a locker)
expires-label = Expires
expires-at = { $date } UTC
expires-in-minutes = { $count ->
    [one] in { $count } minute
   *[other] in { $count } minutes
}
expires-in-hours = { $count ->
    [one] in { $count } hour
   *[other] in { $count } hours
}
expires-in-days = { $count ->
    [one] in { $count } day
   *[other] in { $count } days
}
details-link = See the details from the sender
next-heading = What to do next
next-phone = Open this link on the phone where you keep your keys, from the message it came in: your wallet app takes it from there.
next-phone-app = Open this link with { $app }: tap it in the message it came in, on the phone where you keep your keys.
get-app = Don't have { $app } yet? Get it, then tap the link again:
get-wallet-app = Don't have the wallet app yet? Get it, then tap the link again:
store-apple = App Store
store-google = Google Play
next-desktop = Open this link on your phone: a key is accepted by the wallet app on the phone where you keep your keys, not in a browser.
relay-blind = The server passing this key along sees it only encrypted: it cannot read it or use it. Only the device that opens the whole link can.
