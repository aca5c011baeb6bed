"""Replies that must reach the user even if the process dies between the commit and the send.

A tip's receipt code exists nowhere but in the reply that carries it: if the process died
after the tip was committed and before the reply went out, Telegram would redeliver the
update, the ledger would say it was handled, and the tipster would never learn the code of a
tip that is stored. So such a reply is kept with the update's ledger row, in the update's own
transaction, and forgotten once it has been sent; a redelivery finds it and sends it again.

The kept bytes are sealed (secret box) under a key derived from BINHYEN_TIP_SECRET, which is not
in the database: a dump or backup of the database alone does not show a receipt code.
"""

import hashlib
import json
from typing import Any

import aiogram.methods
from aiogram.methods import TelegramMethod
from nacl.secret import SecretBox

_PLAIN, _SEALED = b"P", b"S"
# A channel's own calls that may be kept besides aiogram's (bot/channels/zalo_replies.py).
CHANNEL_METHODS: dict[str, type[TelegramMethod[Any]]] = {}


def keepable(method_type: type[TelegramMethod[Any]]) -> type[TelegramMethod[Any]]:
    """Let a channel's own call be kept with a ledger row (a class decorator)."""
    CHANNEL_METHODS[method_type.__name__] = method_type
    return method_type


def replies_key(secret: bytes | None) -> bytes | None:
    """The key kept replies are sealed with, derived from the tip lookup secret (None: plain)."""
    if not secret:
        return None
    return hashlib.blake2b(b"binhyen kept replies", key=secret[:64],
                           digest_size=SecretBox.KEY_SIZE).digest()


def pack(methods: list[TelegramMethod[Any]], key: bytes | None) -> bytes:
    """Bot API calls as bytes to keep (sealed when there is a key)."""
    body = json.dumps([
        {"method": type(method).__name__, "fields": method.model_dump(mode="json", exclude_defaults=True)}
        for method in methods
    ], ensure_ascii=False).encode()
    if key is None:
        return _PLAIN + body
    return _SEALED + SecretBox(key).encrypt(body)


def unpack(kept: bytes, key: bytes | None) -> list[TelegramMethod[Any]]:
    """The Bot API calls kept by `pack` (raises ValueError when they cannot be read)."""
    kind, body = kept[:1], kept[1:]
    if kind == _SEALED:
        if key is None:
            raise ValueError("kept replies are sealed but BINHYEN_TIP_SECRET is not set")
        try:
            body = SecretBox(key).decrypt(body)
        except Exception as error:  # nacl's CryptoError: another secret sealed them
            raise ValueError("kept replies were sealed under another secret") from error
    elif kind != _PLAIN:
        raise ValueError("not kept replies")
    methods = []
    for item in json.loads(body):
        method_type = CHANNEL_METHODS.get(item["method"]) or getattr(aiogram.methods, item["method"], None)
        if not (isinstance(method_type, type) and issubclass(method_type, TelegramMethod)):
            raise ValueError(f"unknown Bot API method {item['method']!r}")
        methods.append(method_type.model_validate(item["fields"]))
    return methods
