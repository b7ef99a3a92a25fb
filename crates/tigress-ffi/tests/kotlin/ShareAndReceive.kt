// Shares a credential through a running relay with the generated Kotlin binding of tigress-ffi,
// and receives it in another JVM process; then a transfer with round trips between two
// processes. The binding loads libtigress_ffi through JNA, as an Android app loads it from
// jniLibs.
//
//     ShareAndReceiveKt RELAY_URL ATTESTING_RELAY_URL KEY_FILE     the sender; starts each receiver
//     ShareAndReceiveKt --receiver MODE RELAY_URL SHARE_URL [PIN…] a receiver (MODE: share, transfer,
//                                                                  pin, wrong-pins)
//
// Each checked step prints one line; the first failure throws, printing what the Kotlin side
// saw, and the exit code is non-zero.

import java.io.File
import java.security.KeyFactory
import java.security.KeyPairGenerator
import java.security.KeyStoreException
import java.security.PrivateKey
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.security.spec.PKCS8EncodedKeySpec
import java.util.Base64
import uniffi.tigress.AttestationAlgorithm
import uniffi.tigress.DeviceAttester
import uniffi.tigress.PinDeliveryOutcome
import uniffi.tigress.ProvisioningInfo
import uniffi.tigress.PushToken
import uniffi.tigress.Role
import uniffi.tigress.ShareSettings
import uniffi.tigress.TigressClient
import uniffi.tigress.TigressException
import uniffi.tigress.Vertical
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

val HOTEL_KEY = ProvisioningInfo(
    format = "digitalwallet.generic.authorizationToken",
    contentJson = """{"roomNumber":"412","authorizationToken":"b5d3a0e2-hotel"}""",
)
val CAR_INVITATION = ProvisioningInfo(
    format = "digitalwallet.carkey.ccc",
    contentJson = """{"role":"sender","seq":0,"vehicle":"VIN1234"}""",
    // A top-level member beside format and content, which the library carries across.
    extraJson = """{"version":1}""",
)

// 16 bytes of base64 that are not the share's secret.
const val WRONG_SECRET = "AAAAAAAAAAAAAAAAAAAAAA=="
const val WAIT_MS = 15_000u

fun step(role: String, what: String) {
    println("$role: $what")
    System.out.flush()
}

fun check(condition: Boolean, saw: () -> String) {
    if (!condition) throw AssertionError("check failed; the Kotlin side saw: ${saw()}")
}

// Runs `call`, which must throw the TigressException subclass E; returns its message.
inline fun <reified E : TigressException> expectError(call: () -> Unit): String {
    try {
        call()
    } catch (error: TigressException) {
        if (error is E) return error.message ?: ""
        throw AssertionError(
            "expected TigressException.${E::class.simpleName}, got ${error::class.simpleName}: ${error.message}",
        )
    }
    throw AssertionError("expected TigressException.${E::class.simpleName}, but the call succeeded")
}

// The text of a JSON member, as the library writes it (compact, no spaces).
fun member(name: String, value: String) = "\"$name\":$value"

fun message(role: String, seq: Int) = ProvisioningInfo(
    format = "digitalwallet.carkey.ccc",
    contentJson = """{"role":"$role","seq":$seq}""",
)

fun isMessage(info: ProvisioningInfo?, role: String, seq: Int): Boolean =
    info != null && info.contentJson().contains(member("role", "\"$role\"")) &&
        info.contentJson().contains(member("seq", "$seq"))

fun settings(vertical: Vertical, rights: String? = null) = ShareSettings(
    title = if (vertical == Vertical.ACCESS) "Room 412" else "Car Key",
    description = "Grand Hotel, 1-2 June",
    imageUrl = "https://img.example/key.png",
    vertical = vertical,
    accessRights = rights,
    expiresInSeconds = 600u,
    aes256 = false,
)

// A receiver in a separate JVM, with its own client and its own copy of the library.
fun startReceiver(mode: String, relayUrl: String, shareUrl: String, vararg pins: String): Process {
    val java = ProcessHandle.current().info().command().orElse("java")
    val command = listOf(
        java,
        "-Djna.library.path=" + System.getProperty("jna.library.path"),
        "-cp", System.getProperty("java.class.path"),
        "ShareAndReceiveKt", "--receiver", mode, relayUrl, shareUrl, *pins,
    )
    return ProcessBuilder(command).inheritIO().start()
}

fun waitFor(process: Process, name: String) {
    check(process.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) { "the $name process hung" }
    check(process.exitValue() == 0) { "the $name process failed with exit code ${process.exitValue()}" }
}

// --- the sender -------------------------------------------------------------------------------

fun sender(relayUrl: String, attestingRelayUrl: String, keyFile: String) {
    val client = TigressClient(relayUrl, null)

    // Bad input is refused before anything is sent.
    expectError<TigressException.InsecureRelay> { TigressClient("http://relay.example", null) }
    expectError<TigressException.InvalidInput> { TigressClient("not a url", null) }
    val notJson = expectError<TigressException.InvalidInput> { ProvisioningInfo(format = "f", contentJson = "{not json") }
    check(notJson.contains("content_json")) { "the error names the field: $notJson" }
    expectError<TigressException.InvalidInput> { PushToken("com.google.fcm", "", null) }
    // Refusals the app reacts to: no relay there, and a field over the relay's limit.
    expectError<TigressException.Network> { TigressClient("http://127.0.0.1:9", null).descriptor() }
    val tooLong = expectError<TigressException.Rejected> {
        client.share(HOTEL_KEY, settings(Vertical.ACCESS).copy(title = "x".repeat(1_000)))
    }
    check("title" in tooLong) { tooLong }
    step("sender", "bad input refused")

    // Nothing secret in what an app might log: objects print no field, records hold no secret.
    check("b5d3a0e2" !in HOTEL_KEY.toString() && "b5d3a0e2" !in "$HOTEL_KEY") { HOTEL_KEY.toString() }
    val apns = PushToken("com.apple.apns", "a1b2c3d4", "com.example.wallet")
    val withApns = settings(Vertical.ACCESS).copy(pushToken = apns)
    check("a1b2c3d4" !in apns.toString() && "a1b2c3d4" !in withApns.toString()) { withApns.toString() }
    check(apns.tokenType() == "com.apple.apns") { apns.tokenType() }
    step("sender", "nothing secret in toString()")

    val descriptor = client.descriptor()
    check(descriptor.versions == listOf("v1") && descriptor.mailboxPath == "/v1/m") { "$descriptor" }
    check("pin" in descriptor.extensions && !descriptor.attestationRequired) { "$descriptor" }
    step("sender", "read the relay's descriptor")

    // A one-message share, received in another process.
    val share = client.share(HOTEL_KEY, settings(Vertical.ACCESS))
    val url = share.url()
    check(url.startsWith("$relayUrl/v1/m/")) { url }
    check("?v=a#" in url && url.endsWith(share.secret())) { url }
    check(share.urlWithoutSecret() == url.substringBefore('#')) { share.urlWithoutSecret() }
    // Nothing secret in what an app might log.
    check(share.secret() !in share.toString() && share.secret() !in client.toString()) { share.toString() }
    step("sender", "shared the hotel key")
    waitFor(startReceiver("share", relayUrl, url), "share receiver")
    // The receiver finished: the share is gone for its sender too.
    expectError<TigressException.Gone> { share.cancel() }
    step("sender", "the share is gone after the receiver finished")

    // A share two devices may take in turn: the first relinquishes, the second receives.
    val twice = client.share(HOTEL_KEY, settings(Vertical.ACCESS).copy(maxReceivers = 2u))
    waitFor(startReceiver("relinquish", relayUrl, twice.url()), "relinquishing receiver")
    step("sender", "a share for two devices in turn was received by the second")

    // The single operations: the sender sees the receiver bind, and reads its answer from the
    // share's one message slot.
    val slot = client.share(HOTEL_KEY, settings(Vertical.ACCESS, rights = "RWD"))
    check(!slot.receiverBound()) { "bound before anyone received" }
    check(!slot.waitForReceiver(500u)) { "a receiver bound within half a second, with none started" }
    val answering = startReceiver("answer", relayUrl, slot.url())
    check(slot.waitForReceiver(WAIT_MS)) { "no receiver bound" }
    check(slot.receiverBound()) { "the receiver is not bound after the wait said so" }
    step("sender", "saw the receiver bind")
    waitFor(answering, "answering receiver")
    val answer = slot.read()
    check(answer.format() == "digitalwallet.generic.receipt" && answer.contentJson().contains(member("stored", "true"))) {
        "the slot holds ${answer.format()}"
    }
    slot.update(message("sender", 1))
    check(isMessage(slot.read(), "sender", 1)) { "the sender's update is not in the slot" }
    slot.cancel()
    step("sender", "read the receiver's answer, replaced it and cancelled the share")

    // A PIN share and a transfer cancelled before anyone received them.
    val unwanted = client.shareWithPin(HOTEL_KEY, settings(Vertical.ACCESS), null)
    unwanted.cancel()
    expectError<TigressException.Gone> { client.receive(unwanted.url()) }
    val aborted = client.startTransfer(CAR_INVITATION, settings(Vertical.CAR, rights = "RWD"))
    aborted.transfer.cancel()
    expectError<TigressException.Gone> { client.receive(aborted.share.url()) }
    expectError<TigressException.AlreadyUsed> { aborted.transfer.nextMessage(100u) }
    step("sender", "a PIN share and a transfer cancelled before anyone received them are gone")

    // A transfer with round trips, the receiver in another process.
    // The sender registers its FCM token with the create; the receiver its APNs token, with the
    // app's topic, with its first message. The test relay has no push provider: accepted, unused.
    val fcm = PushToken(tokenType = "com.google.fcm", tokenData = "fcm-registration-token", topic = null)
    val withToken = settings(Vertical.CAR, rights = "RWD").copy(pushToken = fcm)
    val started = client.startTransfer(CAR_INVITATION, withToken)
    val transfer = started.transfer
    check(transfer.role() == Role.SENDER) { "${transfer.role()}" }
    check(transfer.nextMessage(300u) == null) { "a message before the receiver exists" }
    val receiver = startReceiver("transfer", relayUrl, started.share.url())
    for (seq in 1..2) {
        val got = transfer.nextMessage(WAIT_MS)
        check(isMessage(got, "receiver", seq)) { "request $seq: ${got?.contentJson()}" }
        transfer.send(message("sender", seq))
        step("sender", "round trip $seq: answered the receiver's request")
    }
    val ack = transfer.nextMessage(WAIT_MS)
    check(isMessage(ack, "receiver", 3)) { "the last message: ${ack?.contentJson()}" }
    transfer.finish()
    expectError<TigressException.AlreadyUsed> { transfer.send(message("sender", 9)) }
    step("sender", "finished the transfer")
    waitFor(receiver, "transfer receiver")

    // A PIN share: the credential goes only to the receiver that proves the PIN, which the
    // library chose (six digits) and the sender's app shows. One wrong PIN, then the right one.
    val pinShare = client.shareWithPin(HOTEL_KEY, settings(Vertical.ACCESS), null)
    val pin = pinShare.pin()
    check(pin.length == 6 && pin.all { it.isDigit() }) { "a generated PIN of six digits: ${pin.length}" }
    check(pin !in pinShare.url() && pin !in pinShare.toString()) { "the PIN is in the URL or toString" }
    val wrongPin = if (pin == "000000") "111111" else "000000"
    val pinReceiver = startReceiver("pin", relayUrl, pinShare.url(), wrongPin, pin)
    val delivery = pinShare.deliver(60_000u)
    check(delivery.outcome == PinDeliveryOutcome.DELIVERED) { "$delivery" }
    check(delivery.wrongAttempts == 1u) { "$delivery" }
    expectError<TigressException.AlreadyUsed> { pinShare.deliver(1_000u) }
    waitFor(pinReceiver, "PIN receiver")
    step("sender", "the PIN share was delivered after one wrong PIN")

    // Three wrong PINs end the share; the sender's app hears it ended.
    val guarded = client.shareWithPin(HOTEL_KEY, settings(Vertical.ACCESS), "482193")
    check(guarded.pin() == "482193") { "the PIN the app chose" }
    expectError<TigressException.InvalidInput> { client.shareWithPin(HOTEL_KEY, settings(Vertical.ACCESS), "12ab") }
    val guesser = startReceiver("wrong-pins", relayUrl, guarded.url(), "111111", "222222", "333333")
    val ended = guarded.deliver(60_000u)
    check(ended.outcome == PinDeliveryOutcome.ENDED && ended.wrongAttempts == 2u) { "$ended" }
    waitFor(guesser, "wrong-PIN receiver")
    step("sender", "three wrong PINs ended the PIN share")

    // The wallet app's receiving side (ReceiverSample.kt), on a PIN share: one wrong PIN from
    // the user, then the right one.
    val sampled = client.shareWithPin(HOTEL_KEY, settings(Vertical.ACCESS), "2468")
    val sample = startReceiver("sample", relayUrl, sampled.url(), "1357", "2468")
    val sampledDelivery = sampled.deliver(60_000u)
    check(sampledDelivery.outcome == PinDeliveryOutcome.DELIVERED && sampledDelivery.wrongAttempts == 1u) {
        "$sampledDelivery"
    }
    waitFor(sample, "sample receiver")

    attestedShares(attestingRelayUrl, keyFile)
    step("sender", "done")
}

// --- attestation by a platform key ------------------------------------------------------------

// The app's attestation key, used through the JCA `Signature` API exactly as an Android
// Keystore key is (which never hands out its private key); here it is read from a PKCS#8 file
// that the test wrote, whose public key the attesting relay trusts as `maker-phone`.
class PlatformAttester(private val key: PrivateKey) : DeviceAttester {
    var signatures = 0

    override fun sign(signingInput: ByteArray): ByteArray {
        signatures++
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(key)
            update(signingInput)
            sign()
        }
    }
}

// A platform that refuses to sign (the user dismissed the prompt, the key was invalidated).
class RefusingAttester : DeviceAttester {
    override fun sign(signingInput: ByteArray): ByteArray = throw KeyStoreException("the key was invalidated")
}

fun readPkcs8(path: String): PrivateKey {
    val base64 = File(path).readLines().filter { !it.startsWith("-----") }.joinToString("")
    return KeyFactory.getInstance("EC").generatePrivate(PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)))
}

fun attestedShares(relayUrl: String, keyFile: String) {
    val plain = TigressClient(relayUrl, null)
    check(plain.descriptor().attestationRequired) { "${plain.descriptor()}" }
    expectError<TigressException.Attestation> { plain.share(HOTEL_KEY, settings(Vertical.ACCESS)) }

    val attester = PlatformAttester(readPkcs8(keyFile))
    val client = TigressClient.withAttester(relayUrl, null, "maker-phone", AttestationAlgorithm.ES256, attester)
    client.share(HOTEL_KEY, settings(Vertical.ACCESS)).cancel()
    check(attester.signatures == 1) { "the platform key signed ${attester.signatures} times" }

    val stranger = KeyPairGenerator.getInstance("EC").run {
        initialize(ECGenParameterSpec("secp256r1"))
        generateKeyPair().private
    }
    val untrusted = TigressClient.withAttester(relayUrl, null, "maker-phone", AttestationAlgorithm.ES256, PlatformAttester(stranger))
    expectError<TigressException.Attestation> { untrusted.share(HOTEL_KEY, settings(Vertical.ACCESS)) }
    val refusing = TigressClient.withAttester(relayUrl, null, "maker-phone", AttestationAlgorithm.ES256, RefusingAttester())
    expectError<TigressException.Attestation> { refusing.share(HOTEL_KEY, settings(Vertical.ACCESS)) }
    step("sender", "attested with the platform key; refused without one, with an untrusted key, and when the platform refused")

    // The relay allows this device maker's fleet two creates a minute: the third is refused
    // with the time to wait.
    client.share(HOTEL_KEY, settings(Vertical.ACCESS)).cancel()
    val limited = try {
        client.share(HOTEL_KEY, settings(Vertical.ACCESS))
        null
    } catch (error: TigressException.RateLimited) {
        error
    }
    check(limited != null && (limited.retryAfterSeconds ?: 0u) in 1u..60u) { "the third create: $limited" }
    step("sender", "the fleet's third create in a minute is RateLimited, retry after ${limited!!.retryAfterSeconds} s")
}

// --- the receivers ----------------------------------------------------------------------------

fun receiveShare(relayUrl: String, shareUrl: String) {
    val client = TigressClient(relayUrl, null)

    // A wrong secret: the preview is public, but the payload does not open, and the binding is
    // given back so that the right secret still works.
    val bare = shareUrl.substringBefore('#')
    val wrong = client.receiveWithSecret(bare, WRONG_SECRET)
    expectError<TigressException.Decrypt> { wrong.accept() }
    expectError<TigressException.Decrypt> { client.receive("$bare#$WRONG_SECRET").accept() }
    expectError<TigressException.InvalidInput> { client.receive(bare) }
    step("receiver", "a wrong secret fails to decrypt")

    // Declining binds nothing: the link still works.
    client.receive(shareUrl).decline()
    step("receiver", "declined, and the share is still there")

    val pending = client.receive(shareUrl)
    val preview = pending.preview()
    check(preview.title == "Room 412") { "$preview" }
    check(preview.description == "Grand Hotel, 1-2 June") { "$preview" }
    check(preview.imageUrl == "https://img.example/key.png") { "$preview" }
    check(preview.displayUrl == null) { "$preview" }
    check(preview.vertical == Vertical.ACCESS) { "$preview" }
    check(preview.expiration.endsWith("Z")) { "$preview" }
    step("receiver", "preview checked")

    val received = pending.accept()
    val info = received.provisioningInformation()
    check(info.format() == HOTEL_KEY.format()) { info.format() }
    check(info.contentJson().contains(member("roomNumber", "\"412\""))) { info.contentJson() }
    check(info.contentJson().contains(member("authorizationToken", "\"b5d3a0e2-hotel\""))) { info.contentJson() }
    expectError<TigressException.AlreadyUsed> { pending.accept() }
    step("receiver", "decrypted the credential the sender shared")

    // Another device (here another client object) cannot take the bound share.
    val other = TigressClient(relayUrl, null)
    expectError<TigressException.AlreadyClaimed> { other.receive(shareUrl).accept() }
    step("receiver", "a second receiver gets AlreadyClaimed")

    received.finish()
    check(received.provisioningInformation().contentJson() == info.contentJson()) { "the credential changed after finish" }
    expectError<TigressException.Gone> { other.receive(shareUrl) }
    step("receiver", "finished; the share is gone")
}

fun receiveAnswer(relayUrl: String, shareUrl: String) {
    val received = TigressClient(relayUrl, null).receive(shareUrl).accept()
    check(received.provisioningInformation().format() == HOTEL_KEY.format()) { received.provisioningInformation().format() }
    received.update(ProvisioningInfo("digitalwallet.generic.receipt", """{"stored":true}"""))
    check(received.read().format() == "digitalwallet.generic.receipt") { received.read().format() }
    step("receiver", "answered through the share's message slot")
}

fun receiveRelinquish(relayUrl: String, shareUrl: String) {
    val first = TigressClient(relayUrl, null).receive(shareUrl).accept()
    first.relinquish()
    expectError<TigressException.AlreadyUsed> { first.finish() }
    val second = TigressClient(relayUrl, null).receive(shareUrl).accept()
    check(second.provisioningInformation().format() == HOTEL_KEY.format()) { "${second.provisioningInformation()}" }
    second.finish()
    step("receiver", "the first device relinquished and a second one received the share")
}

fun receiveTransfer(relayUrl: String, shareUrl: String) {
    val client = TigressClient(relayUrl, null)
    val pending = client.receive(shareUrl)
    check(pending.preview().vertical == Vertical.CAR) { "${pending.preview()}" }
    val received = pending.accept()
    val invitation = received.provisioningInformation()
    check(invitation.format() == CAR_INVITATION.format()) { invitation.format() }
    check(invitation.contentJson().contains(member("vehicle", "\"VIN1234\""))) { invitation.contentJson() }
    check(invitation.extraJson() == """{"version":1}""") { "the extra members: ${invitation.extraJson()}" }
    val transfer = received.intoTransfer()
    expectError<TigressException.AlreadyUsed> { received.finish() }
    transfer.setPushToken(PushToken(tokenType = "com.apple.apns", tokenData = "a1b2c3d4", topic = "com.example.wallet"))
    check(transfer.role() == Role.RECEIVER) { "${transfer.role()}" }
    for (seq in 1..2) {
        transfer.send(message("receiver", seq))
        val answer = transfer.nextMessage(WAIT_MS)
        check(isMessage(answer, "sender", seq)) { "answer $seq: ${answer?.contentJson()}" }
        step("receiver", "round trip $seq: got the sender's answer")
    }
    transfer.send(message("receiver", 3))
    // The sender finishes once it has this last message; the wait then ends with Gone.
    expectError<TigressException.Gone> { transfer.nextMessage(WAIT_MS) }
    step("receiver", "the transfer ended when the sender finished")
}

fun receivePin(relayUrl: String, shareUrl: String, wrongPin: String, pin: String) {
    val client = TigressClient(relayUrl, null)
    val received = client.receive(shareUrl).accept()
    check(received.needsPin()) { "a PIN share holds an invitation" }
    val exchange = received.intoPinExchange()
    check(exchange.attemptsLeft() == 3u) { "${exchange.attemptsLeft()}" }
    expectError<TigressException.WrongPin> { exchange.attempt(wrongPin, WAIT_MS) }
    check(exchange.attemptsLeft() == 2u) { "${exchange.attemptsLeft()}" }
    val info = exchange.attempt(pin, WAIT_MS)
    check(info.format() == HOTEL_KEY.format() && info.contentJson().contains(member("roomNumber", "\"412\""))) {
        info.contentJson()
    }
    exchange.finish()
    step("receiver", "a wrong PIN was refused and the right one opened the credential")
}

fun receiveWrongPins(relayUrl: String, shareUrl: String, guesses: List<String>) {
    val client = TigressClient(relayUrl, null)
    val exchange = client.receive(shareUrl).accept().intoPinExchange()
    for ((index, guess) in guesses.withIndex()) {
        if (index < guesses.size - 1) {
            expectError<TigressException.WrongPin> { exchange.attempt(guess, WAIT_MS) }
            check(exchange.attemptsLeft() == (2 - index).toUInt()) { "${exchange.attemptsLeft()}" }
        } else {
            expectError<TigressException.TooManyAttempts> { exchange.attempt(guess, WAIT_MS) }
        }
    }
    check(exchange.attemptsLeft() == 0u) { "${exchange.attemptsLeft()}" }
    step("receiver", "the third wrong PIN got TooManyAttempts")
}

// The sample's screens, scripted: accept the preview, give the PINs in order, record the rest.
class ScriptedUi(private val pins: MutableList<String>) : WalletUi {
    val told = mutableListOf<String>()
    var provisioned: ProvisioningInfo? = null
    var provisionedOn = ""

    override fun confirm(preview: uniffi.tigress.Preview) = preview.title == "Room 412"
    override fun askForPin(attemptsLeft: UInt): String? = pins.removeFirstOrNull()
    override fun provision(credential: ProvisioningInfo) {
        provisioned = credential
        provisionedOn = Thread.currentThread().name
    }
    override fun tell(message: String) {
        told.add(message)
    }
}

fun receiveWithSample(relayUrl: String, shareUrl: String, pins: List<String>) {
    val ui = ScriptedUi(pins.toMutableList())
    // From a coroutine on the "main" thread, as the app's link handler calls it.
    runBlocking { onShareLinkOpened(TigressClient(relayUrl, null), shareUrl, ui) }
    check(ui.provisionedOn.startsWith("DefaultDispatcher-worker")) { "the calls ran on ${ui.provisionedOn}" }
    val provisioned = ui.provisioned
    check(provisioned?.format() == HOTEL_KEY.format() && provisioned.contentJson().contains(member("roomNumber", "\"412\""))) {
        "provisioned ${provisioned?.format()}; told ${ui.told}"
    }
    check(ui.told == listOf("That PIN is not the sender's; 2 attempts left.")) { "${ui.told}" }
    step("receiver", "the wallet sample provisioned the key after one wrong PIN")
}

fun main(args: Array<String>) {
    try {
        when {
            args.size == 3 -> sender(args[0], args[1], args[2])
            args.size == 4 && args[0] == "--receiver" && args[1] == "share" -> receiveShare(args[2], args[3])
            args.size == 4 && args[0] == "--receiver" && args[1] == "transfer" -> receiveTransfer(args[2], args[3])
            args.size == 4 && args[0] == "--receiver" && args[1] == "relinquish" -> receiveRelinquish(args[2], args[3])
            args.size == 4 && args[0] == "--receiver" && args[1] == "answer" -> receiveAnswer(args[2], args[3])
            args.size == 6 && args[0] == "--receiver" && args[1] == "pin" -> receivePin(args[2], args[3], args[4], args[5])
            args.size >= 5 && args[0] == "--receiver" && args[1] == "sample" ->
                receiveWithSample(args[2], args[3], args.drop(4))
            args.size >= 5 && args[0] == "--receiver" && args[1] == "wrong-pins" ->
                receiveWrongPins(args[2], args[3], args.drop(4))
            else -> {
                System.err.println("usage: ShareAndReceiveKt RELAY_URL ATTESTING_RELAY_URL KEY_FILE | --receiver MODE RELAY_URL SHARE_URL")
                exitProcess(2)
            }
        }
    } catch (error: Throwable) {
        System.err.println("FAILED: $error")
        error.printStackTrace()
        exitProcess(1)
    }
}
