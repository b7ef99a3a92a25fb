# Die Vorschauseite eines geteilten Schlüssels, Deutsch.

shared-with-you = Jemand hat einen Schlüssel mit dir geteilt
kind-label = Art des Schlüssels
kind-car = Autoschlüssel
kind-home = Haustürschlüssel
kind-access = Zugangsschlüssel (eine Tür, ein Zimmer, ein Schließfach)
expires-label = Gültig bis
expires-at = { $date } UTC
expires-in-minutes = { $count ->
    [one] noch { $count } Minute
   *[other] noch { $count } Minuten
}
expires-in-hours = { $count ->
    [one] noch { $count } Stunde
   *[other] noch { $count } Stunden
}
expires-in-days = { $count ->
    [one] noch { $count } Tag
   *[other] noch { $count } Tage
}
details-link = Details vom Absender ansehen
next-heading = So geht es weiter
next-phone = Öffne diesen Link auf dem Telefon, auf dem du deine Schlüssel aufbewahrst, aus der Nachricht, mit der er kam: Deine Wallet-App übernimmt den Rest.
next-phone-app = Öffne diesen Link mit { $app }: Tippe ihn in der Nachricht an, mit der er kam, auf dem Telefon, auf dem du deine Schlüssel aufbewahrst.
get-app = Du hast { $app } noch nicht? Lade die App und tippe dann erneut auf den Link:
get-wallet-app = Du hast die Wallet-App noch nicht? Lade sie und tippe dann erneut auf den Link:
store-apple = App Store
store-google = Google Play
next-desktop = Öffne diesen Link auf deinem Telefon: Ein Schlüssel wird von der Wallet-App auf dem Telefon angenommen, auf dem du deine Schlüssel aufbewahrst, nicht im Browser.
relay-blind = Der Server, der diesen Schlüssel weiterreicht, sieht ihn nur verschlüsselt: Er kann ihn weder lesen noch benutzen. Das kann nur das Gerät, das den vollständigen Link öffnet.
