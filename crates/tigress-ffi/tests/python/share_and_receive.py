#!/usr/bin/env python3
"""Shares a credential through a running relay with the generated Python binding of tigress-ffi,
and receives it in another process; then a transfer with round trips between two processes.

    share_and_receive.py RELAY_URL                   the sender; starts each receiver itself
    share_and_receive.py --receiver MODE RELAY_URL SHARE_URL EXPECTED_JSON
                                                     a receiver (MODE: share or transfer)

The generated module `tigress` and the library it loads (libtigress_ffi) must be on PYTHONPATH.
Each checked step prints one line; the first failure raises, and the exit code is non-zero.
Only the standard library is used, and the receivers run with `-S` (no site-packages), like the
test that runs this file.
"""

import json
import subprocess
import sys

import tigress
from tigress import (
    ProvisioningInfo,
    Role,
    ShareSettings,
    TigressClient,
    TigressError,
    Vertical,
)

HOTEL_KEY = ProvisioningInfo(
    format="digitalwallet.generic.authorizationToken",
    content_json=json.dumps({"roomNumber": "412", "authorizationToken": "b5d3a0e2-hotel"}),
)
CAR_INVITATION = ProvisioningInfo(
    format="digitalwallet.carkey.ccc",
    content_json=json.dumps({"role": "sender", "seq": 0, "vehicle": "VIN1234"}),
)
# 16 bytes of base64 that are not the share's secret.
WRONG_SECRET = "AAAAAAAAAAAAAAAAAAAAAA=="
WAIT_MS = 15_000


def step(role, what):
    print(f"{role}: {what}", flush=True)


def expect_error(kind, call):
    """Runs `call`, which must raise TigressError.<kind>; returns its message."""
    try:
        call()
    except getattr(TigressError, kind) as error:
        return str(error)
    except TigressError as error:
        raise AssertionError(f"expected TigressError.{kind}, got {type(error).__name__}: {error}")
    raise AssertionError(f"expected TigressError.{kind}, but the call succeeded")


def message(role, seq):
    return ProvisioningInfo(
        format="digitalwallet.carkey.ccc",
        content_json=json.dumps({"role": role, "seq": seq}),
    )


def content(info):
    return json.loads(info.content_json())


def start_receiver(mode, relay_url, share_url, expected):
    """A receiver in a separate Python process, with its own client and its own runtime."""
    arguments = [sys.executable, "-S", __file__, "--receiver", mode, relay_url, share_url]
    arguments.append(json.dumps({"format": expected.format(), "content": content(expected)}))
    return subprocess.Popen(arguments)


def wait_for(process, name):
    code = process.wait(timeout=120)
    assert code == 0, f"the {name} process failed with exit code {code}"


# --- the sender ---------------------------------------------------------------------------------


def sender(relay_url):
    client = TigressClient(relay_url)

    # Bad input is refused before anything is sent.
    expect_error("InsecureRelay", lambda: TigressClient("http://relay.example"))
    expect_error("InvalidInput", lambda: TigressClient("not a url"))
    reason = expect_error("InvalidInput", lambda: ProvisioningInfo(format="f", content_json="{not json"))
    assert "content_json" in reason, reason
    assert "b5d3a0e2" not in repr(HOTEL_KEY) and "b5d3a0e2" not in str(HOTEL_KEY), repr(HOTEL_KEY)
    step("sender", "bad input refused")

    # A one-message share, received in another process.
    share = client.share(HOTEL_KEY, settings(Vertical.ACCESS))
    url = share.url()
    assert url.startswith(relay_url + "/v1/m/"), url
    assert "?v=a#" in url and url.endswith(share.secret()), url
    assert share.url_without_secret() == url.split("#")[0]
    step("sender", "shared the hotel key")
    wait_for(start_receiver("share", relay_url, url, HOTEL_KEY), "share receiver")
    # The receiver finished: the share is gone for its sender too.
    expect_error("Gone", share.cancel)
    step("sender", "the share is gone after the receiver finished")

    # A transfer with round trips, the receiver in another process.
    started = client.start_transfer(CAR_INVITATION, settings(Vertical.CAR, rights="RWD"))
    transfer = started.transfer
    assert transfer.role() == Role.SENDER
    assert transfer.next_message(300) is None, "no message before the receiver exists"
    receiver = start_receiver("transfer", relay_url, started.share.url(), CAR_INVITATION)
    for seq in (1, 2):
        got = transfer.next_message(WAIT_MS)
        assert got is not None, f"no request {seq} from the receiver"
        assert content(got) == {"role": "receiver", "seq": seq}, got.content_json()
        transfer.send(message("sender", seq))
        step("sender", f"round trip {seq}: answered the receiver's request")
    ack = transfer.next_message(WAIT_MS)
    assert ack is not None and content(ack) == {"role": "receiver", "seq": 3}, ack
    transfer.finish()
    expect_error("AlreadyUsed", lambda: transfer.send(message("sender", 9)))
    step("sender", "finished the transfer")
    wait_for(receiver, "transfer receiver")
    step("sender", "done")


def settings(vertical, rights=None):
    return ShareSettings(
        title="Room 412" if vertical == Vertical.ACCESS else "Car Key",
        description="Grand Hotel, 1-2 June",
        image_url="https://img.example/key.png",
        vertical=vertical,
        access_rights=rights,
        expires_in_seconds=600,
        aes_256=False,
    )


# --- the receivers ------------------------------------------------------------------------------


def receive_share(relay_url, share_url, expected):
    client = TigressClient(relay_url)

    # A wrong secret: the preview is public, but the payload does not open, and the binding is
    # given back so the right secret still works.
    bare = share_url.split("#")[0]
    wrong = client.receive_with_secret(bare, WRONG_SECRET)
    expect_error("Decrypt", wrong.accept)
    tampered = bare + "#" + WRONG_SECRET
    expect_error("Decrypt", lambda: client.receive(tampered).accept())
    expect_error("InvalidInput", lambda: client.receive(bare))
    step("receiver", "a wrong secret fails to decrypt")

    pending = client.receive(share_url)
    preview = pending.preview()
    assert preview.title == "Room 412", preview
    assert preview.description == "Grand Hotel, 1-2 June", preview
    assert preview.image_url == "https://img.example/key.png", preview
    assert preview.vertical == Vertical.ACCESS, preview
    assert preview.expiration.endswith("Z"), preview
    step("receiver", "preview checked")

    received = pending.accept()
    info = received.provisioning_information()
    assert info.format() == expected["format"], info.format()
    assert json.loads(info.content_json()) == expected["content"], info.content_json()
    expect_error("AlreadyUsed", pending.accept)
    step("receiver", "decrypted the credential the sender shared")

    # Another device (here another client object) cannot take the bound share.
    other = TigressClient(relay_url)
    expect_error("AlreadyClaimed", lambda: other.receive(share_url).accept())
    step("receiver", "a second receiver gets AlreadyClaimed")

    received.finish()
    assert received.provisioning_information().content_json() == info.content_json()
    expect_error("Gone", lambda: other.receive(share_url))
    step("receiver", "finished; the share is gone")


def receive_transfer(relay_url, share_url, expected):
    client = TigressClient(relay_url)
    pending = client.receive(share_url)
    assert pending.preview().vertical == Vertical.CAR
    received = pending.accept()
    assert content(received.provisioning_information()) == expected["content"]
    transfer = received.into_transfer()
    expect_error("AlreadyUsed", received.finish)
    assert transfer.role() == Role.RECEIVER
    for seq in (1, 2):
        transfer.send(message("receiver", seq))
        answer = transfer.next_message(WAIT_MS)
        assert answer is not None, f"no answer {seq} from the sender"
        assert content(answer) == {"role": "sender", "seq": seq}, answer.content_json()
        step("receiver", f"round trip {seq}: got the sender's answer")
    transfer.send(message("receiver", 3))
    # The sender finishes once it has this last message; the wait then ends with Gone.
    expect_error("Gone", lambda: transfer.next_message(WAIT_MS))
    step("receiver", "the transfer ended when the sender finished")


def main(argv):
    if len(argv) == 2:
        sender(argv[1])
        return
    if len(argv) == 6 and argv[1] == "--receiver":
        mode, relay_url, share_url, expected = argv[2], argv[3], argv[4], json.loads(argv[5])
        {"share": receive_share, "transfer": receive_transfer}[mode](relay_url, share_url, expected)
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    assert tigress.__file__, "the generated module is importable"
    main(sys.argv)
