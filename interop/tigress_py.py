#!/usr/bin/env python3
"""An independent Secure Credential Transfer client, written from the protocol description alone.

It shares no code with the Rust implementation: HTTP with urllib, AES-GCM with `cryptography`.
The project's tests run it against the relay and the `tigress` CLI to check that both follow the
protocol (docs/PROTOCOL.md), not just each other.

    tigress_py.py share RELAY_URL FORMAT CONTENT_JSON [--aes-256] [--vertical c]
        prints the share URL (…/v1/m/{id}?v=…#secret)
    tigress_py.py receive SHARE_URL
        prints the Provisioning Information JSON, then deletes the mailbox
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALGORITHMS = {"AEAD_AES_128_GCM": 16, "AEAD_AES_256_GCM": 32}


def request(method, url, claim=None, body=None, accept=None):
    """Sends one request; returns (status, parsed JSON or text). Checks the echoed request id."""
    request_id = str(uuid.uuid4())
    headers = {"Mailbox-Request-ID": request_id}
    if claim:
        headers["Mailbox-Device-Claim"] = claim
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if accept:
        headers["Accept"] = accept
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            status, raw, echoed = resp.status, resp.read(), resp.headers.get("Mailbox-Request-ID")
    except urllib.error.HTTPError as err:
        status, raw, echoed = err.code, err.read(), err.headers.get("Mailbox-Request-ID")
    if echoed != request_id:
        raise SystemExit(f"{method} answered with another request id")
    text = raw.decode("utf-8")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def seal(key, plaintext):
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, None)).decode("ascii")


def open_payload(key, payload):
    if ALGORITHMS.get(payload["type"]) != len(key):
        raise SystemExit("payload type does not match the secret")
    data = payload["data"]
    blob = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if ("-" in data or "_" in data) else None)
    if len(blob) < 28:
        raise SystemExit("payload too short")
    return AESGCM(key).decrypt(blob[:12], blob[12:], None)


def share(relay, fmt, content, aes_256=False, vertical=None):
    algorithm = "AEAD_AES_256_GCM" if aes_256 else "AEAD_AES_128_GCM"
    key = os.urandom(ALGORITHMS[algorithm])
    info = json.dumps({"format": fmt, "content": content}).encode("utf-8")
    body = {
        "payload": {"type": algorithm, "data": seal(key, info)},
        "displayInformation": {
            "title": "Shared from Python",
            "description": "An interoperability test share",
            "imageURL": "https://img.example/key.png",
        },
        "mailboxConfiguration": {"accessRights": "RD"},
    }
    status, answer = request("POST", relay.rstrip("/") + "/v1/m", claim=str(uuid.uuid4()), body=body)
    if status != 200:
        raise SystemExit(f"create answered {status}: {answer}")
    url = answer["urlLink"]
    if vertical:
        url += "?v=" + vertical
    return url + "#" + base64.b64encode(key).decode("ascii")


def receive(share_url):
    without_fragment, _, fragment = share_url.partition("#")
    secret = urllib.parse.unquote(fragment)
    secret += "=" * (-len(secret) % 4)
    key = base64.b64decode(secret, altchars=b"-_" if ("-" in secret or "_" in secret) else None)
    mailbox = without_fragment.split("?", 1)[0]
    status, preview = request("GET", mailbox, accept="application/json")
    if status != 200 or "displayInformation" not in preview:
        raise SystemExit(f"preview answered {status}: {preview}")
    claim = str(uuid.uuid4())
    status, answer = request("POST", mailbox, claim=claim)
    if status != 200:
        raise SystemExit(f"read answered {status}: {answer}")
    info = json.loads(open_payload(key, answer["payload"]))
    if "content" not in info and "genericData" in info:
        info["content"] = info.pop("genericData")
    status, _ = request("DELETE", mailbox, claim=claim)
    if status != 200:
        raise SystemExit(f"delete answered {status}")
    return info


def main(argv):
    if len(argv) >= 4 and argv[0] == "share":
        vertical = argv[argv.index("--vertical") + 1] if "--vertical" in argv else None
        print(share(argv[1], argv[2], json.loads(argv[3]), "--aes-256" in argv, vertical))
    elif len(argv) == 2 and argv[0] == "receive":
        print(json.dumps(receive(argv[1]), sort_keys=True))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
