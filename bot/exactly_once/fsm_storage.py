"""Conversation state that moves on only when its update's transaction commits.

Handlers write the FSM state (`state.set_state`, `update_data`) while they work, before the
update's transaction is committed. If the commit then fails (the database went away) or the
handler breaks, the user is asked to try again; their retry must find the conversation where
it was, not one step further on with nothing stored. So during an update the writes are held
here, read back by the same update, and applied to the real storage (Redis or memory) right
after the commit; a failed update drops them. Outside an update (the Zalo menus, after-commit
calls) writes go straight through.
"""

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, KeyBuilder, StateType, StorageKey
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from redis.asyncio import Redis

from bot.exactly_once.expiring_storage import ExpiringRedisStorage

log = logging.getLogger(__name__)

_UNSET: Any = object()
_SEALED = "sealed:"


@dataclass
class _Writes:
    """What one update wrote under one key; _UNSET where it wrote nothing."""

    state: str | None = _UNSET
    data: dict[str, Any] = _UNSET


@dataclass
class PendingState:
    """The state writes of one update, held until its transaction commits."""

    writes: dict[StorageKey, _Writes] = field(default_factory=dict)
    open: bool = True

    def at(self, key: StorageKey) -> _Writes:
        """The writes under `key`, created empty."""
        return self.writes.setdefault(key, _Writes())


_pending: ContextVar[PendingState | None] = ContextVar("binhyen_pending_state", default=None)


class CommittedStorage(BaseStorage):
    """Wraps the real FSM storage; see the module's docstring."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    @contextmanager
    def holding(self) -> Iterator[PendingState]:
        """Hold the state writes made inside the block (one update); `apply` them after the
        commit, or leave the block without applying to drop them."""
        pending = PendingState()
        token = _pending.set(pending)
        try:
            yield pending
        finally:
            pending.open = False
            _pending.reset(token)

    async def apply(self, pending: PendingState) -> None:
        """Write what the update held to the real storage (its transaction has committed)."""
        pending.open = False
        for key, writes in pending.writes.items():
            if writes.state is not _UNSET:
                await self.inner.set_state(key, writes.state)
            if writes.data is not _UNSET:
                await self.inner.set_data(key, writes.data)

    @staticmethod
    def _held() -> PendingState | None:
        pending = _pending.get()
        return pending if pending is not None and pending.open else None

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state (held until the commit during an update)."""
        value = state.state if isinstance(state, State) else state
        pending = self._held()
        if pending is None:
            await self.inner.set_state(key, value)
        else:
            pending.at(key).state = value

    async def get_state(self, key: StorageKey) -> str | None:
        """The state, as this update left it so far."""
        pending = self._held()
        writes = pending.writes.get(key) if pending else None
        if writes is not None and writes.state is not _UNSET:
            return writes.state
        return await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data (held until the commit during an update)."""
        pending = self._held()
        if pending is None:
            await self.inner.set_data(key, data)
        else:
            pending.at(key).data = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The data, as this update left it so far (a copy)."""
        pending = self._held()
        writes = pending.writes.get(key) if pending else None
        if writes is not None and writes.data is not _UNSET:
            return dict(writes.data)
        return await self.inner.get_data(key)

    async def close(self) -> None:
        """Close the real storage."""
        await self.inner.close()


def state_key(secret: bytes | None) -> bytes | None:
    """The key conversation state is sealed with in Redis, derived from the tip lookup secret
    (None: plain; without the secret tips are off, and no tip draft is ever kept)."""
    if not secret:
        return None
    return hashlib.blake2b(b"binhyen conversation state", key=secret[:64],
                           digest_size=SecretBox.KEY_SIZE).digest()


class SealedRedisStorage(ExpiringRedisStorage):
    """The expiring Redis storage with every state and data value sealed (secret box).

    A tip draft (kind, place, what happened), the tip a status check opened, or a Zalo chat's
    last message (a receipt, say) must not be readable in Redis, its dumps or its backups.
    Values are padded before sealing, so that their length does not name the state either: a
    state to STATE_PAD bytes, data to a power of two of at least DATA_PAD. Values written plain
    before sealing began are still read."""

    def __init__(self, redis: Redis, key_builder: KeyBuilder, key: bytes) -> None:
        super().__init__(redis, key_builder=key_builder, json_dumps=self._dumps, json_loads=self._loads)
        self._box = SecretBox(key)

    def _seal(self, text: str, size: int) -> str:
        data = text.encode("utf-8")
        # NUL never occurs in a state name or in JSON text: it pads, and is stripped when opened.
        data += b"\0" * (_padded(len(data), size) - len(data))
        return _SEALED + base64.b64encode(self._box.encrypt(data)).decode("ascii")

    def _open(self, text: str) -> str | None:
        if not text.startswith(_SEALED):
            return text
        try:
            opened = self._box.decrypt(base64.b64decode(text[len(_SEALED):]))
            return opened.rstrip(b"\0").decode("utf-8")
        except (CryptoError, binascii.Error, UnicodeDecodeError):
            # Sealed under another BINHYEN_TIP_SECRET: the conversation starts afresh.
            log.warning("a conversation state in Redis cannot be opened; it is ignored")
            return None

    def _dumps(self, data: Any) -> str:
        return self._seal(json.dumps(data, ensure_ascii=False), DATA_PAD)

    def _loads(self, text: str) -> dict[str, Any]:
        opened = self._open(text)
        return {} if opened is None else json.loads(opened)

    def state_value(self, state: str) -> str:
        """The state sealed (its name tells what the user is doing: writing a tip, say)."""
        return self._seal(state, STATE_PAD)

    async def get_state(self, key: StorageKey) -> str | None:
        """The state, opened."""
        value = await super().get_state(key)
        return None if value is None else self._open(value)


STATE_PAD = 64
DATA_PAD = 512


def _padded(length: int, least: int) -> int:
    """`least`, or the power of two that holds `length` bytes."""
    size = least
    while size < length:
        size *= 2
    return size
