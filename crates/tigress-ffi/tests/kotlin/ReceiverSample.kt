// The receiving side of a wallet app, as docs/EMBEDDING.md shows it: a share link opened, its
// preview shown, the share accepted (with a PIN when it has one), the credential provisioned.
// The test command compiles it with the binding and runs it (tests/it/kotlin.rs), so it keeps
// up with the API.

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import uniffi.tigress.Preview
import uniffi.tigress.ProvisioningInfo
import uniffi.tigress.TigressClient
import uniffi.tigress.TigressException

/** What the app's screens and key store provide. */
interface WalletUi {
    /** Shows the preview (title, image, kind of key, expiry); true when the user accepts. */
    fun confirm(preview: Preview): Boolean

    /** Asks for the PIN the sender told the user; null when the user gives up. */
    fun askForPin(attemptsLeft: UInt): String?

    /** Hands the credential to the key store. */
    fun provision(credential: ProvisioningInfo)

    /** Tells the user what happened. */
    fun tell(message: String)
}

/**
 * Called from the app's coroutine (a ViewModel's scope, say) when a share link opens: the
 * library's calls block until the relay answers, so they run on `Dispatchers.IO`, never on the
 * main thread. The UI callbacks then run on that IO thread too; a real app switches back to
 * `Dispatchers.Main` inside them to touch its views.
 */
suspend fun onShareLinkOpened(client: TigressClient, shareUrl: String, ui: WalletUi) =
    withContext(Dispatchers.IO) { receiveSharedKey(client, shareUrl, ui) }

/**
 * Receives the share at `shareUrl` (the whole link, secret included, as the app link delivered
 * it). Blocking: call it off the main thread, as `onShareLinkOpened` does.
 */
fun receiveSharedKey(client: TigressClient, shareUrl: String, ui: WalletUi) {
    val pending = try {
        client.receive(shareUrl)
    } catch (e: TigressException.Gone) {
        return ui.tell("This share has expired or was cancelled: ask the sender for a new one.")
    } catch (e: TigressException.InvalidInput) {
        return ui.tell("This link is not a complete share link.")
    }
    if (!ui.confirm(pending.preview())) {
        return pending.decline()
    }
    val received = try {
        pending.accept()
    } catch (e: TigressException.AlreadyClaimed) {
        return ui.tell("Another device has already accepted this share.")
    } catch (e: TigressException.Decrypt) {
        return ui.tell("This link is damaged: ask the sender to send it again.")
    }
    if (!received.needsPin()) {
        ui.provision(received.provisioningInformation())
        return received.finish()
    }
    val exchange = received.intoPinExchange()
    while (true) {
        val pin = ui.askForPin(exchange.attemptsLeft()) ?: return exchange.finish()
        try {
            ui.provision(exchange.attempt(pin, 30_000u))
            return exchange.finish()
        } catch (e: TigressException.WrongPin) {
            ui.tell("That PIN is not the sender's; ${e.attemptsLeft} attempts left.")
        } catch (e: TigressException.TooManyAttempts) {
            return ui.tell("Too many wrong PINs: ask the sender for a new share.")
        }
    }
}
