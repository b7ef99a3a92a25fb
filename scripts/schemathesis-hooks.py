"""Schemathesis hooks for scripts/schemathesis.

Generated mailbox ids are random UUIDs, so on their own they only ever reach the relay's 404. The
answer to a create carries the id inside `urlLink`, which OpenAPI links cannot pick apart, so
Schemathesis cannot chain a create into the other operations by itself. Before a request to
`/v1/m/{id}`, this hook therefore swaps the generated id for a mailbox made just for it, in turn:

  0. left as generated (mostly an unknown mailbox: 404);
  1. a mailbox the request's own claim created (the caller is its sender);
  2. a mailbox another claim created (the caller is a fresh claim: a read binds it);
  3. the same, already bound by a third claim (the caller is refused: already_claimed);
  4. a mailbox another claim created with rights RWD, which the request's claim bound (the caller
     is its receiver: it may write, delete and relinquish).

So the handlers' real answers (200, 201, 401 of each kind, 409) are checked against the document,
not only their 404s. Only ids that are already well-formed UUIDs are swapped, so a request whose
generated id is malformed on purpose stays so.
"""

import itertools
import json
import os
import re
import urllib.request
import uuid

import schemathesis

BASE_URL = os.environ["TIGRESS_SCHEMATHESIS_URL"].rstrip("/")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_turn = itertools.count()


def _send(method: str, path: str, claim: str, body=None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE_URL + path, data=data, method=method)
    request.add_header("Mailbox-Device-Claim", claim)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else {}


def _create(sender: str, rights: str) -> str:
    body = {
        "payload": {"type": "AEAD_AES_128_GCM", "data": "A" * 40},
        "displayInformation": {
            "title": "Room 412",
            "description": "Hotel key",
            "imageURL": "https://img.example/hotel.png",
        },
        "mailboxConfiguration": {"accessRights": rights},
    }
    link = _send("POST", "/v1/m", sender, body)["urlLink"]
    return link.rsplit("/", 1)[1]


def _claim_of(case) -> str:
    headers = case.headers or {}
    for name, value in headers.items():
        if name.lower() == "mailbox-device-claim" and isinstance(value, str) and UUID.match(value):
            return value
    return str(uuid.uuid4())


@schemathesis.hook
def before_call(context, case, **kwargs):
    path_parameters = case.path_parameters or {}
    generated = path_parameters.get("id")
    if not isinstance(generated, str) or not UUID.match(generated):
        return
    turn = next(_turn) % 5
    if turn == 0:
        return
    claim = _claim_of(case)
    if turn == 1:
        mailbox = _create(claim, "RD")
    elif turn == 2:
        mailbox = _create(str(uuid.uuid4()), "RD")
    elif turn == 3:
        mailbox = _create(str(uuid.uuid4()), "RD")
        _send("POST", f"/v1/m/{mailbox}", str(uuid.uuid4()))
    else:
        mailbox = _create(str(uuid.uuid4()), "RWD")
        _send("POST", f"/v1/m/{mailbox}", claim)
    case.path_parameters = {**path_parameters, "id": mailbox}
