# La page d'aperçu d'une clé partagée, en français.

shared-with-you = Quelqu'un a partagé une clé avec vous
kind-label = Type de clé
kind-car = Clé de voiture
kind-home = Clé de maison
kind-access = Clé d'accès (une porte, une chambre, un casier)
expires-label = Expire le
expires-at = { $date } UTC
expires-in-minutes = { $count ->
    [one] dans { $count } minute
   *[other] dans { $count } minutes
}
expires-in-hours = { $count ->
    [one] dans { $count } heure
   *[other] dans { $count } heures
}
expires-in-days = { $count ->
    [one] dans { $count } jour
   *[other] dans { $count } jours
}
details-link = Voir les détails de l'expéditeur
next-heading = Et maintenant
next-phone = Ouvrez ce lien sur le téléphone où vous gardez vos clés, depuis le message qui l'a apporté : votre application de portefeuille s'occupe du reste.
next-phone-app = Ouvrez ce lien avec { $app } : touchez-le dans le message qui l'a apporté, sur le téléphone où vous gardez vos clés.
get-app = Vous n'avez pas encore { $app } ? Installez-la, puis touchez à nouveau le lien :
get-wallet-app = Vous n'avez pas encore l'application de portefeuille ? Installez-la, puis touchez à nouveau le lien :
store-apple = App Store
store-google = Google Play
next-desktop = Ouvrez ce lien sur votre téléphone : une clé s'accepte dans l'application de portefeuille du téléphone où vous gardez vos clés, pas dans un navigateur.
relay-blind = Le serveur qui transmet cette clé ne la voit que chiffrée : il ne peut ni la lire ni l'utiliser. Seul l'appareil qui ouvre le lien complet le peut.
