# La página de vista previa de una llave compartida, en español.

shared-with-you = Alguien ha compartido una llave contigo
kind-label = Tipo de llave
kind-car = Llave de coche
kind-home = Llave de casa
kind-access = Llave de acceso (una puerta, una habitación, una taquilla)
expires-label = Caduca
expires-at = { $date } UTC
expires-in-minutes = { $count ->
    [one] en { $count } minuto
   *[other] en { $count } minutos
}
expires-in-hours = { $count ->
    [one] en { $count } hora
   *[other] en { $count } horas
}
expires-in-days = { $count ->
    [one] en { $count } día
   *[other] en { $count } días
}
details-link = Ver los detalles del remitente
next-heading = Qué hacer ahora
next-phone = Abre este enlace en el teléfono donde guardas tus llaves, desde el mensaje en el que llegó: tu app de cartera se encarga del resto.
next-phone-app = Abre este enlace con { $app }: tócalo en el mensaje en el que llegó, en el teléfono donde guardas tus llaves.
get-app = ¿Aún no tienes { $app }? Descárgala y vuelve a tocar el enlace:
get-wallet-app = ¿Aún no tienes la app de cartera? Descárgala y vuelve a tocar el enlace:
store-apple = App Store
store-google = Google Play
next-desktop = Abre este enlace en tu teléfono: una llave se acepta en la app de cartera del teléfono donde guardas tus llaves, no en un navegador.
relay-blind = El servidor que transmite esta llave solo la ve cifrada: no puede leerla ni usarla. Solo puede hacerlo el dispositivo que abre el enlace completo.
