"""The cryptography of tips: the officers' key pair, receipt codes and the keys they derive.

- Tip text and photos are sealed (PyNaCl SealedBox) to the officers' public key; only the
  private key file, kept by the officers, opens them.
- The receipt code is looked up by its HMAC under the server's secret, and it derives
  (argon2id, per-tip salt) the key pair that officers' replies are sealed to.
"""

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nacl.encoding import Base64Encoder
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.pwhash import argon2id

from db.text import N_, Problem

CODE_DIGITS = 12
CODE_SALT_BYTES = argon2id.SALTBYTES
_SEPARATORS = re.compile(r"[\s.\-_]+")


@dataclass(frozen=True)
class TipKeys:
    """What the bot needs to take tips: the officers' public key and the lookup secret."""

    officers: PublicKey
    lookup_secret: bytes


def public_key_from_text(text: str) -> PublicKey:
    """The officers' public key from its base64 form (what `binhyen tips keygen` prints)."""
    try:
        raw = Base64Encoder.decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError("is not base64") from None
    if len(raw) != PublicKey.SIZE:
        raise ValueError(f"must be {PublicKey.SIZE} bytes in base64")
    return PublicKey(raw)


def key_text(key: PublicKey | PrivateKey) -> str:
    """A key in the base64 form the settings and key files use."""
    return key.encode(Base64Encoder).decode("ascii")


def new_key_pair() -> PrivateKey:
    """A new officers' key pair."""
    return PrivateKey.generate()


def new_lookup_secret() -> str:
    """A new server secret for receipt-code lookups."""
    return secrets.token_urlsafe(32)


def write_private_key(path: Path, key: PrivateKey) -> None:
    """Write the private key file readable by its owner only (0600), never overwriting one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key_text(key) + "\n")


def read_private_key(path: Path) -> PrivateKey:
    """The officers' private key from its file, or a Problem saying what is wrong."""
    try:
        text = path.read_text(encoding="ascii").strip()
        raw = Base64Encoder.decode(text.encode("ascii"))
    except FileNotFoundError:
        raise Problem(N_("Không tìm thấy tệp khóa riêng {path}."), path=str(path)) from None
    except (OSError, ValueError, UnicodeError):
        raise Problem(N_("Tệp {path} không phải là khóa riêng của tin báo."), path=str(path)) from None
    if len(raw) != PrivateKey.SIZE:
        raise Problem(N_("Tệp {path} không phải là khóa riêng của tin báo."), path=str(path))
    return PrivateKey(raw)


def check_key_pair(private: PrivateKey, public: PublicKey | None) -> None:
    """Refuse a private key that does not belong to the configured public key."""
    if public is not None and bytes(private.public_key) != bytes(public):
        raise Problem(N_("Khóa riêng không khớp với BINHYEN_TIP_PUBLIC_KEY."))


def seal(key: PublicKey, data: bytes) -> bytes:
    """Encrypt to `key`; only its private half can open the result."""
    return SealedBox(key).encrypt(data)


def unseal(key: PrivateKey, data: bytes) -> bytes:
    """Open what was sealed to this key's public half."""
    try:
        return SealedBox(key).decrypt(data)
    except CryptoError:
        raise Problem(N_("Không giải mã được: khóa riêng không đúng với tin báo này.")) from None


def new_receipt_code() -> str:
    """A receipt code: CODE_DIGITS decimal digits from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def grouped(code: str) -> str:
    """The code in groups of four digits, easy to copy: 4821 0937 5512."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str | None:
    """The digits of a typed code (spaces, dots and dashes allowed), or None if it is not one."""
    digits = _SEPARATORS.sub("", text.strip())
    if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit():
        return digits
    return None


def code_hash(keys: TipKeys, code: str) -> str:
    """The keyed hash a tip is found by; without the server secret it says nothing."""
    return hmac.new(keys.lookup_secret, code.encode("ascii"), hashlib.sha256).hexdigest()


def same_hash(stored: str, computed: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode("ascii"), computed.encode("ascii"))


# Each derivation holds 64 MiB: a burst of tips or lookups must not run several at once, nor
# hold the default executor's threads (charts, photo cleaning, DNS) while they wait their turn.
# So derivations queue for a thread of their own; one at a time still takes some 16 a second,
# far above the bot's default limit of 1,000 tips an hour.
_KDF_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="binhyen-argon2id")


def code_key(code: str, salt: bytes) -> PrivateKey:
    """The tip's reply key pair, derived from the receipt code (argon2id, interactive limits).

    Slow on purpose (about 60 ms and 64 MiB): call derive_code_key from async code."""
    seed = argon2id.kdf(
        PrivateKey.SIZE,
        code.encode("ascii"),
        salt,
        opslimit=argon2id.OPSLIMIT_INTERACTIVE,
        memlimit=argon2id.MEMLIMIT_INTERACTIVE,
    )
    return PrivateKey(seed)


async def derive_code_key(code: str, salt: bytes) -> PrivateKey:
    """code_key in the derivations' own thread, one at a time."""
    return await asyncio.get_running_loop().run_in_executor(_KDF_THREAD, code_key, code, salt)


def new_salt() -> bytes:
    """A fresh per-tip salt for code_key."""
    return secrets.token_bytes(CODE_SALT_BYTES)


@dataclass(frozen=True)
class Receipt:
    """A new tip's receipt code, its salt and the reply key pair they derive."""

    code: str
    salt: bytes
    key: PrivateKey


def _derived_receipt() -> Receipt:
    code, salt = new_receipt_code(), new_salt()
    return Receipt(code, salt, code_key(code, salt))


# Receipts derived ahead of time, in the derivations' thread: a tip's transaction (on SQLite,
# the one write lock) then does not wait ~60 ms for argon2id. Each is used once, and none is
# stored: one still unused when the process stops is simply gone.
READY_RECEIPTS = 4
_ready: deque[Receipt] = deque()
_refills = 0  # derivations queued to refill `_ready`
_refills_lock = threading.Lock()


def _refill() -> None:
    global _refills
    try:
        _ready.append(_derived_receipt())
    finally:
        with _refills_lock:
            _refills -= 1


def _top_up() -> None:
    global _refills
    with _refills_lock:
        missing = READY_RECEIPTS - len(_ready) - _refills
        _refills += max(missing, 0)
    for _ in range(missing):
        _KDF_THREAD.submit(_refill)


async def new_receipt() -> Receipt:
    """A fresh receipt for a new tip: one derived ahead of time when one is ready, else
    derived now; either way the pool is topped up in the background."""
    try:
        receipt = _ready.popleft()
    except IndexError:
        receipt = await asyncio.get_running_loop().run_in_executor(_KDF_THREAD, _derived_receipt)
    _top_up()
    return receipt
