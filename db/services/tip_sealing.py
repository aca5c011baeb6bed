"""The cryptography of tips: the officers' key pair, receipt codes and the keys they derive.

- Tip text and photos are sealed (PyNaCl SealedBox) to the officers' public key; only the
  private key file, kept by the officers, opens them.
- A receipt code (16 digits) is looked up by a memory-hard derivation of it (argon2id, salted
  with a value of the server's secret), which each lookup pays for once; the same derivation
  gives, with a per-tip salt, the key pair that officers' replies are sealed to. Codes given
  before (12 digits) are found by their old HMAC under the secret, stretched with argon2id
  (migration 0009), and derive their reply key with argon2id and the per-tip salt.
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

CODE_DIGITS = 16
# Receipts given before migration 0009 have 12 digits; they still find their tips.
LEGACY_CODE_DIGITS = 12
CODE_SALT_BYTES = argon2id.SALTBYTES
# The cost every lookup (and every guess of an attacker holding the database and the secret)
# pays: argon2id with libsodium's interactive limits, some 70 ms and 64 MiB on one core
# (bench/receipt_cost.py measures it). Changing them would lose every tip's lookup.
LOOKUP_OPS = argon2id.OPSLIMIT_INTERACTIVE
LOOKUP_MEM = argon2id.MEMLIMIT_INTERACTIVE
# The salt that stretches the old HMACs (migration 0009): the secret is inside the HMAC.
LEGACY_SALT = b"binhyen:legacy12"
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
    """The code in groups of four digits, easy to copy: 4821 0937 5512 7306."""
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str | None:
    """The digits of a typed code (spaces, dots and dashes allowed), or None if it is not one
    (16 digits, or the 12 of a receipt given before)."""
    digits = _SEPARATORS.sub("", text.strip())
    if len(digits) in (CODE_DIGITS, LEGACY_CODE_DIGITS) and digits.isascii() and digits.isdigit():
        return digits
    return None


def same_hash(stored: str, computed: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode("ascii"), computed.encode("ascii"))


def _stretch(data: bytes, salt: bytes, size: int) -> bytes:
    return argon2id.kdf(size, data, salt, opslimit=LOOKUP_OPS, memlimit=LOOKUP_MEM)


def _lookup_salt(keys: TipKeys) -> bytes:
    return hmac.new(keys.lookup_secret, b"binhyen receipt lookup", hashlib.sha256).digest()[:CODE_SALT_BYTES]


def legacy_hmac(keys: TipKeys, code: str) -> str:
    """What the tips of 12-digit codes stored before migration 0009: an HMAC of the code."""
    return hmac.new(keys.lookup_secret, code.encode("ascii"), hashlib.sha256).hexdigest()


def stretched_legacy(hmac_hex: str) -> str:
    """The old HMAC stretched with argon2id: what such a tip is found by since migration 0009."""
    return _stretch(hmac_hex.encode("ascii"), LEGACY_SALT, 32).hex()


@dataclass(frozen=True)
class CodeLookup:
    """What a receipt code derives: the value its tip is found by and, for a 16-digit code,
    the material its reply key comes from."""

    code: str
    value: str
    material: bytes | None


def code_lookup(keys: TipKeys, code: str) -> CodeLookup:
    """The lookup of a normalised code. Slow on purpose (one argon2id): call derive_lookup
    from async code."""
    if len(code) == LEGACY_CODE_DIGITS:
        return CodeLookup(code, stretched_legacy(legacy_hmac(keys, code)), None)
    material = _stretch(code.encode("ascii"), _lookup_salt(keys), 64)
    value = hashlib.blake2b(material, digest_size=32, person=b"binhyen-lookup").hexdigest()
    return CodeLookup(code, value, material)


def code_key(code: str, salt: bytes) -> PrivateKey:
    """The reply key pair of a tip of a 12-digit code (argon2id, interactive limits, the
    tip's salt). Slow on purpose (about 70 ms and 64 MiB)."""
    return PrivateKey(_stretch(code.encode("ascii"), salt, PrivateKey.SIZE))


def reply_key(found: CodeLookup, salt: bytes) -> PrivateKey:
    """The tip's reply key pair from its code's lookup and the tip's salt (slow for a 12-digit
    code: call derive_reply_key from async code)."""
    if found.material is None:
        return code_key(found.code, salt)
    seed = hashlib.blake2b(found.material, digest_size=PrivateKey.SIZE, key=salt, person=b"binhyen-reply")
    return PrivateKey(seed.digest())


# Each derivation holds 64 MiB: a burst of tips or lookups must not run several at once, nor
# hold the default executor's threads (charts, photo cleaning, DNS) while they wait their turn.
# So derivations queue for a thread of their own; one at a time still takes some 14 a second,
# far above the bot's default limit of 1,000 tips an hour.
_KDF_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="binhyen-argon2id")


async def _in_kdf_thread(function, *args):
    return await asyncio.get_running_loop().run_in_executor(_KDF_THREAD, function, *args)


async def derive_lookup(keys: TipKeys, code: str) -> CodeLookup:
    """code_lookup in the derivations' own thread, one at a time."""
    return await _in_kdf_thread(code_lookup, keys, code)


async def derive_reply_key(found: CodeLookup, salt: bytes) -> PrivateKey:
    """reply_key, in the derivations' thread when it derives one."""
    if found.material is not None:
        return reply_key(found, salt)
    return await _in_kdf_thread(reply_key, found, salt)


def new_salt() -> bytes:
    """A fresh per-tip salt for the reply key."""
    return secrets.token_bytes(CODE_SALT_BYTES)


@dataclass(frozen=True)
class Receipt:
    """A new tip's receipt code, what its tip is found by, its salt and its reply key pair."""

    code: str
    lookup: str
    salt: bytes
    key: PrivateKey


def _derived_receipt(keys: TipKeys) -> Receipt:
    code, salt = new_receipt_code(), new_salt()
    found = code_lookup(keys, code)
    return Receipt(code, found.value, salt, reply_key(found, salt))


# Receipts derived ahead of time, in the derivations' thread: a tip's transaction (on SQLite,
# the one write lock) then does not wait ~70 ms for argon2id. Each is used once, and none is
# stored: one still unused when the process stops is simply gone. One pool per lookup secret.
READY_RECEIPTS = 4


class _Pool:
    """The receipts ready for one lookup secret, and how many are being derived."""

    def __init__(self, keys: TipKeys) -> None:
        self.keys = keys
        self.ready: deque[Receipt] = deque()
        self.refills = 0
        self.lock = threading.Lock()

    def _refill(self) -> None:
        try:
            self.ready.append(_derived_receipt(self.keys))
        finally:
            with self.lock:
                self.refills -= 1

    def top_up(self) -> None:
        with self.lock:
            missing = READY_RECEIPTS - len(self.ready) - self.refills
            self.refills += max(missing, 0)
        for _ in range(missing):
            _KDF_THREAD.submit(self._refill)


_pools: dict[bytes, _Pool] = {}


def ready_receipts(keys: TipKeys) -> deque[Receipt]:
    """The receipts derived ahead of time for these keys (for tests)."""
    return _pools[keys.lookup_secret].ready if keys.lookup_secret in _pools else deque()


async def new_receipt(keys: TipKeys) -> Receipt:
    """A fresh receipt for a new tip: one derived ahead of time when one is ready, else
    derived now; either way the pool is topped up in the background."""
    pool = _pools.get(keys.lookup_secret)
    if pool is None:
        pool = _pools[keys.lookup_secret] = _Pool(keys)
    try:
        receipt = pool.ready.popleft()
    except IndexError:
        receipt = await _in_kdf_thread(_derived_receipt, keys)
    pool.top_up()
    return receipt
