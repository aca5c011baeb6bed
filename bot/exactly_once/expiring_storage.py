"""Conversation state that expires the same way in memory and in Redis, under key names that
do not say whose it is.

- Every write sets the time to live of the conversation's state and data alike, by one policy
  (base/state_expiry.py): in memory as Redis does it, so an abandoned tip draft does not stay
  in the process until its user comes back.
- In Redis the key names carry an HMAC of the ids (bot, chat, user, destiny) under a key
  derived from BINHYEN_TIP_SECRET, not the ids: a key list does not show who is in a
  conversation.
"""

import asyncio
import hashlib
import heapq
import hmac
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, KeyBuilder, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from base.state_expiry import ttl_for

# The longest an expired conversation waits in memory for the sweep when nothing is read.
SWEEP_SECONDS = 60.0


def key_name_key(secret: bytes) -> bytes:
    """The HMAC key of the Redis key names, derived from the tip lookup secret."""
    return hashlib.blake2b(b"binhyen conversation key names", key=secret[:64], digest_size=32).digest()


class HashedKeyBuilder(KeyBuilder):
    """`<prefix>:<HMAC of the ids>:<part>`: the same conversation always has the same name,
    and the name says nothing of whose it is without the secret."""

    def __init__(self, prefix: str, key: bytes) -> None:
        self.prefix = prefix
        self._key = key

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        """The Redis key of `part` of the conversation under `key`."""
        ids = "\x1f".join(str(value) for value in (
            key.bot_id, key.business_connection_id or "", key.chat_id, key.thread_id or "",
            key.user_id, key.destiny))
        name = hmac.new(self._key, ids.encode(), hashlib.sha256).hexdigest()[:40]
        return f"{self.prefix}:{name}:{part}" if part else f"{self.prefix}:{name}"


@dataclass
class _Record:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    deadline: float = 0.0
    generation: int = 0


class ExpiringMemoryStorage(BaseStorage):
    """aiogram's memory storage with Redis's expiry: a conversation is dropped `ttl_for(key)`
    seconds after its last write (read past that, it is empty; a sweep removes it from memory
    within SWEEP_SECONDS even when nothing reads it). `clock` gives monotonic seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.records: dict[StorageKey, _Record] = {}
        self._deadlines: list[tuple[float, int, StorageKey]] = []
        self._generations = itertools.count(1)
        self._timer: asyncio.TimerHandle | None = None

    def clear(self) -> None:
        """Forget every conversation."""
        self.records.clear()
        self._deadlines.clear()

    def _drop_expired(self) -> None:
        now = self.clock()
        while self._deadlines and self._deadlines[0][0] <= now:
            _deadline, generation, key = heapq.heappop(self._deadlines)
            record = self.records.get(key)
            if record is not None and record.generation == generation:
                del self.records[key]

    def _sweep(self) -> None:
        self._timer = None
        self._drop_expired()
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None or not self._deadlines:
            return
        wait = min(max(self._deadlines[0][0] - self.clock(), 0.0), SWEEP_SECONDS)
        self._timer = asyncio.get_running_loop().call_later(wait, self._sweep)

    def _write(self, key: StorageKey) -> _Record:
        self._drop_expired()
        record = self.records.setdefault(key, _Record())
        record.generation = next(self._generations)
        record.deadline = self.clock() + ttl_for(key)
        heapq.heappush(self._deadlines, (record.deadline, record.generation, key))
        self._arm()
        return record

    def _read(self, key: StorageKey) -> _Record | None:
        self._drop_expired()
        return self.records.get(key)

    def _settle(self, key: StorageKey, record: _Record) -> None:
        if record.state is None and not record.data:  # as Redis deletes both keys
            del self.records[key]

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state; the conversation lives `ttl_for(key)` from now."""
        record = self._write(key)
        record.state = state.state if isinstance(state, State) else state
        self._settle(key, record)

    async def get_state(self, key: StorageKey) -> str | None:
        """The state, unless it expired."""
        record = self._read(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data; the conversation lives `ttl_for(key)` from now."""
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        record = self._write(key)
        record.data = data.copy()
        self._settle(key, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A copy of the data, unless it expired."""
        record = self._read(key)
        return record.data.copy() if record else {}

    async def close(self) -> None:
        """Stop the sweep."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class ExpiringRedisStorage(RedisStorage):
    """aiogram's Redis storage under the same policy: every write sets the time to live of the
    conversation's state and data alike (`ttl_for`), so no key outlives its conversation and
    none expires sooner than the others of its kind."""

    def state_value(self, state: str) -> str:
        """How a state is written (sealed by SealedRedisStorage)."""
        return state

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set (or delete) the state and renew the data's time to live."""
        value = state.state if isinstance(state, State) else state
        await self._write(key, "state", None if value is None else self.state_value(value))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace (or delete) the data and renew the state's time to live."""
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        await self._write(key, "data", self.json_dumps(data) if data else None)

    async def _write(self, key: StorageKey, part: Literal["state", "data"], value: str | None) -> None:
        ttl = ttl_for(key)
        other = "data" if part == "state" else "state"
        async with self.redis.pipeline(transaction=True) as pipe:
            if value is None:
                pipe.delete(self.key_builder.build(key, part))
            else:
                pipe.set(self.key_builder.build(key, part), value, ex=ttl)
            pipe.expire(self.key_builder.build(key, other), ttl)
            await pipe.execute()
