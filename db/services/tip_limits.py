"""Abuse limits for tips, counted without knowing who sends them.

A sender is counted by an HMAC of their channel and id under a key of the day: a random
value of the day, itself keyed with BINHYEN_TIP_SECRET. The random value and the counters live
in Redis when BINHYEN_REDIS_URL is set (shared by every instance), else in this process, and
expire soon after their day: once yesterday's value is gone, nobody can tell whose counts
yesterday's were; and a Redis dump alone (the value beside the counters) does not let anyone
compute a given user's tag without the secret. Nothing of this is stored with a tip.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from db.models import utcnow
from db.text import N_, Problem

PREFIX = "binhyen:tips"
WRONG_CODES_PER_HOUR = 5
# Every lookup by a right code derives an argon2id key (some 60 ms and 64 MiB).
LOOKUPS_PER_HOUR = 30
# Keys of a day outlive its midnight by a little, for updates handled across it.
GRACE = timedelta(minutes=10)
# How often the in-process store forgets expired counters (each is also dropped when read).
SWEEP_EVERY = timedelta(minutes=1)


class BotBusy(Problem):
    """The whole bot has taken its tips of this hour: the same tip may be sent a little later."""


def _bot_busy() -> BotBusy:
    return BotBusy(N_("Bình Yên đang nhận quá nhiều tin báo. Bạn vui lòng thử lại sau ít phút; "
                      "nếu khẩn cấp, hãy gọi ngay 113."))


class _MemoryStore:
    """Counters and day keys in this process, with expiry (one instance, or the console)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.values: dict[str, tuple[bytes | int, datetime]] = {}
        self._next_sweep: datetime | None = None

    def _live(self, key: str) -> bytes | int | None:
        value = self.values.get(key)
        if value is None or value[1] <= self.clock():
            self.values.pop(key, None)
            return None
        return value[0]

    def _sweep(self) -> None:
        """Forget what expired, once a minute at most: a sweep reads every counter."""
        now = self.clock()
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        for key in [key for key, (_, until) in self.values.items() if until <= now]:
            del self.values[key]

    async def day_key(self, key: str, until: datetime) -> bytes:
        self._sweep()
        value = self._live(key)
        if value is None:
            value = secrets.token_bytes(32)
            self.values[key] = (value, until)
        return value  # type: ignore[return-value]

    async def get(self, key: str) -> int:
        return int(self._live(key) or 0)

    async def add(self, key: str, amount: int, until: datetime) -> int:
        value = int(self._live(key) or 0) + amount
        self.values[key] = (value, until)
        return value


class _RedisStore:
    """The same, shared by every instance through Redis."""

    def __init__(self, redis: Redis, clock: Callable[[], datetime]) -> None:
        self.redis = redis
        self.clock = clock

    def _seconds(self, until: datetime) -> int:
        return max(1, int((until - self.clock()).total_seconds()))

    async def day_key(self, key: str, until: datetime) -> bytes:
        # The first instance to need today's key makes it; the others read that one.
        await self.redis.set(key, secrets.token_bytes(32), nx=True, ex=self._seconds(until))
        return await self.redis.get(key)

    async def get(self, key: str) -> int:
        return int(await self.redis.get(key) or 0)

    async def add(self, key: str, amount: int, until: datetime) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, amount)
            pipe.expire(key, self._seconds(until))
            value, _ = await pipe.execute()
        return int(value)


class TipLimits:
    """How many tips a sender may send a day, the bot an hour, and receipt codes (wrong ones,
    and all) a sender may look up an hour."""

    def __init__(
        self,
        redis: Redis | None,
        per_sender_day: int,
        per_hour: int,
        tz: ZoneInfo,
        wrong_codes_per_hour: int = WRONG_CODES_PER_HOUR,
        clock: Callable[[], datetime] = utcnow,
        lookups_per_hour: int = LOOKUPS_PER_HOUR,
        secret: bytes | None = None,
    ) -> None:
        self.per_sender_day = per_sender_day
        self.per_hour = per_hour
        self.wrong_codes_per_hour = wrong_codes_per_hour
        self.lookups_per_hour = lookups_per_hour
        self.tz = tz
        self.clock = clock
        self.store = _MemoryStore(clock) if redis is None else _RedisStore(redis, clock)
        self._tag_key = None if secret is None else hmac.new(
            secret, b"binhyen sender tags", hashlib.sha256).digest()

    def _day(self) -> tuple[str, datetime]:
        local = self.clock().astimezone(self.tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), self.tz)
        return local.date().isoformat(), midnight + GRACE

    def _hour(self) -> tuple[str, datetime]:
        now = self.clock()
        start = now.replace(minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%dT%H"), start + timedelta(hours=1) + GRACE

    async def sender(self, channel: str, user_id: str) -> str:
        """The sender's tag for today: an HMAC of who they are under today's random key."""
        day, until = self._day()
        key = await self.store.day_key(f"{PREFIX}:daykey:{day}", until)
        if self._tag_key is not None:  # the stored value alone does not make the tags
            key = hmac.new(self._tag_key, key, hashlib.sha256).digest()
        return hmac.new(key, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]

    async def check_tip(self, sender: str) -> None:
        """Raise a Problem when the sender or the bot has no tip left now (counts nothing)."""
        day, _ = self._day()
        hour, _ = self._hour()
        if await self.store.get(f"{PREFIX}:sent:{day}:{sender}") >= self.per_sender_day:
            raise Problem(N_("Hôm nay bạn đã gửi {limit} tin báo, là mức tối đa trong một ngày. "
                             "Bạn hãy gửi tiếp vào ngày mai; nếu khẩn cấp, hãy gọi ngay 113."),
                          limit=self.per_sender_day)
        if await self.store.get(f"{PREFIX}:hour:{hour}") >= self.per_hour:
            raise _bot_busy()

    async def take_tip(self, sender: str) -> None:
        """Count one tip for the sender and the bot, or raise a Problem (BotBusy for the
        bot's hourly limit) and count nothing."""
        day, day_until = self._day()
        hour, hour_until = self._hour()
        sent_key, hour_key = f"{PREFIX}:sent:{day}:{sender}", f"{PREFIX}:hour:{hour}"
        # Counting first and taking back on refusal keeps two instances from both passing.
        sent = await self.store.add(sent_key, 1, day_until)
        total = await self.store.add(hour_key, 1, hour_until)
        if sent > self.per_sender_day or total > self.per_hour:
            await self.give_back(sender)
            await self.check_tip(sender)
            raise _bot_busy()

    async def give_back(self, sender: str) -> None:
        """Undo take_tip (the tip was not stored after all)."""
        day, day_until = self._day()
        hour, hour_until = self._hour()
        await self.store.add(f"{PREFIX}:sent:{day}:{sender}", -1, day_until)
        await self.store.add(f"{PREFIX}:hour:{hour}", -1, hour_until)

    async def check_code_attempts(self, sender: str) -> None:
        """Raise a Problem when the sender typed too many wrong receipt codes this hour."""
        hour, _ = self._hour()
        if await self.store.get(f"{PREFIX}:wrong:{hour}:{sender}") >= self.wrong_codes_per_hour:
            raise Problem(N_("Bạn đã nhập sai mã biên nhận quá nhiều lần. Bạn hãy thử lại sau một giờ."))

    async def take_lookup(self, sender: str) -> None:
        """Count a receipt-code lookup, or raise a Problem when the sender made their
        LOOKUPS_PER_HOUR this hour."""
        hour, until = self._hour()
        if await self.store.add(f"{PREFIX}:lookups:{hour}:{sender}", 1, until) > self.lookups_per_hour:
            raise Problem(N_("Bạn đã xem tin báo {limit} lần trong giờ này, là mức tối đa. "
                             "Bạn hãy thử lại sau một giờ."), limit=self.lookups_per_hour)

    async def wrong_code(self, sender: str) -> None:
        """Count a wrong receipt code."""
        hour, until = self._hour()
        await self.store.add(f"{PREFIX}:wrong:{hour}:{sender}", 1, until)
