"""Abuse limits for tips, counted without knowing who sends them.

A sender is counted by an HMAC of their channel and id under a key of the day: a random
value of the day, itself keyed with BINHYEN_TIP_SECRET. The random value and the counters live
in Redis when BINHYEN_REDIS_URL is set (shared by every instance), else in this process, and
expire soon after their day: once yesterday's value is gone, nobody can tell whose counts
yesterday's were; and a Redis dump alone (the value beside the counters) does not let anyone
compute a given user's tag without the secret. Nothing of this is stored with a tip.

Receipt codes are counted in sliding windows of an hour (a sender's wrong codes and lookups),
so that no clock hour's boundary lets a sender try twice the limit in a few minutes; at
midnight, when the sender's tag changes, the last hour under yesterday's tag still counts.
Wrong codes of the whole bot have a ceiling an hour, counted in Redis or, without it, in the
database (no sender, no code), so that it holds across restarts.
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WrongCodeMinute, utcnow
from db.services.sql import upsert
from db.text import N_, Problem

log = logging.getLogger(__name__)

PREFIX = "binhyen:tips"
WRONG_CODES_PER_HOUR = 5
# Every lookup by a right code derives an argon2id key (some 60 ms and 64 MiB).
LOOKUPS_PER_HOUR = 30
# The bot-wide ceiling on wrong receipt codes an hour (BINHYEN_TIP_WRONG_CODES_PER_HOUR).
WRONG_CODES_CEILING = 100
# The windows of the receipt-code limits.
WINDOW = timedelta(hours=1)
# The whole bot's wrong codes in Redis: a log of moments, no sender, no code.
BOT_WRONG_KEY = f"{PREFIX}:wrong-all"
# Keys of a day outlive its midnight by a little, for updates handled across it.
GRACE = timedelta(minutes=10)
# How often the in-process store forgets expired counters (each is also dropped when read).
SWEEP_EVERY = timedelta(minutes=1)


class Sender(str):
    """A sender's tag of today; `previous` is their tag of yesterday while yesterday's key is
    still kept (the first hour after midnight), so that their windows carry across it."""

    previous: str | None = None


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

    async def existing_key(self, key: str) -> bytes | None:
        return self._live(key)  # type: ignore[return-value]

    async def get(self, key: str) -> int:
        return int(self._live(key) or 0)

    async def add(self, key: str, amount: int, until: datetime) -> int:
        value = int(self._live(key) or 0) + amount
        self.values[key] = (value, until)
        return value

    async def window(self, key: str, since: datetime) -> int:
        """How many moments the log under `key` holds after `since`."""
        return sum(1 for moment in (self._live(key) or ()) if moment > since)  # type: ignore[union-attr]

    async def log(self, key: str, moment: datetime, since: datetime) -> None:
        """Add `moment` to the log under `key`, dropping those not after `since`."""
        self._sweep()
        kept = [m for m in (self._live(key) or ()) if m > since]  # type: ignore[union-attr]
        self.values[key] = (tuple(kept) + (moment,), moment + WINDOW)  # type: ignore[assignment]


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

    async def existing_key(self, key: str) -> bytes | None:
        return await self.redis.get(key)

    async def get(self, key: str) -> int:
        return int(await self.redis.get(key) or 0)

    async def add(self, key: str, amount: int, until: datetime) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, amount)
            pipe.expire(key, self._seconds(until))
            value, _ = await pipe.execute()
        return int(value)

    async def window(self, key: str, since: datetime) -> int:
        return int(await self.redis.zcount(key, f"({since.timestamp()}", "+inf"))

    async def log(self, key: str, moment: datetime, since: datetime) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", since.timestamp())
            pipe.zadd(key, {secrets.token_hex(8): moment.timestamp()})
            pipe.expire(key, int(WINDOW.total_seconds()) + 1)
            await pipe.execute()


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
        wrong_codes_ceiling: int = WRONG_CODES_CEILING,
    ) -> None:
        self.per_sender_day = per_sender_day
        self.wrong_codes_ceiling = wrong_codes_ceiling
        self.redis = redis
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

    def _tag(self, day_value: bytes, channel: str, user_id: str) -> str:
        if self._tag_key is not None:  # the stored value alone does not make the tags
            day_value = hmac.new(self._tag_key, day_value, hashlib.sha256).digest()
        return hmac.new(day_value, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()[:32]

    async def sender(self, channel: str, user_id: str) -> Sender:
        """The sender's tag for today: an HMAC of who they are under today's key (and their
        tag of yesterday, during the first hour of a day)."""
        day, until = self._day()
        # The day's value outlives the day by a window: a sender's last hour of yesterday
        # still counts in their receipt-code windows after midnight.
        value = await self.store.day_key(f"{PREFIX}:daykey:{day}", until + WINDOW)
        tag = Sender(self._tag(value, channel, user_id))
        yesterday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
        previous = await self.store.existing_key(f"{PREFIX}:daykey:{yesterday}")
        if previous is not None:
            tag.previous = self._tag(previous, channel, user_id)
        return tag

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

    async def _in_window(self, kind: str, sender: str) -> int:
        since = self.clock() - WINDOW
        count = await self.store.window(f"{PREFIX}:{kind}:{sender}", since)
        previous = getattr(sender, "previous", None)
        if previous is not None:
            count += await self.store.window(f"{PREFIX}:{kind}:{previous}", since)
        return count

    async def _note(self, kind: str, sender: str) -> None:
        now = self.clock()
        await self.store.log(f"{PREFIX}:{kind}:{sender}", now, now - WINDOW)

    async def check_code_attempts(self, sender: str, session: AsyncSession) -> None:
        """Raise a Problem when the sender typed too many wrong receipt codes in the last hour,
        or the whole bot reached its ceiling of wrong codes."""
        if await self._in_window("wrong", sender) >= self.wrong_codes_per_hour:
            raise Problem(N_("Bạn đã nhập sai mã biên nhận quá nhiều lần. Bạn hãy thử lại sau một giờ."))
        if await self._bot_wrong_codes(session) >= self.wrong_codes_ceiling:
            raise Problem(N_("Bình Yên đang tạm ngừng tra mã biên nhận vì có quá nhiều mã sai. "
                             "Bạn hãy thử lại sau một giờ; nếu khẩn cấp, hãy gọi ngay 113."))

    async def take_lookup(self, sender: str) -> None:
        """Count a receipt-code lookup, or raise a Problem when the sender made their
        LOOKUPS_PER_HOUR in the last hour."""
        if await self._in_window("lookups", sender) >= self.lookups_per_hour:
            raise Problem(N_("Bạn đã xem tin báo {limit} lần trong giờ này, là mức tối đa. "
                             "Bạn hãy thử lại sau một giờ."), limit=self.lookups_per_hour)
        await self._note("lookups", sender)

    async def wrong_code(self, sender: str, session: AsyncSession) -> None:
        """Count a wrong receipt code for the sender and for the bot (a warning is logged when
        the bot reaches its ceiling)."""
        await self._note("wrong", sender)
        before = await self._bot_wrong_codes(session)
        await self._add_bot_wrong_code(session)
        if before < self.wrong_codes_ceiling <= before + 1:
            log.warning("wrong receipt codes reached the bot's ceiling of %s in an hour: receipt "
                        "lookups are refused until the count falls (someone may be guessing codes)",
                        self.wrong_codes_ceiling)

    async def _bot_wrong_codes(self, session: AsyncSession) -> int:
        """Wrong codes of the whole bot in the last hour: exactly in Redis, to the minute in
        the database (a minute's codes count until the window has passed the whole minute)."""
        now = self.clock()
        if self.redis is not None:
            return await self.store.window(BOT_WRONG_KEY, now - WINDOW)
        since = _minute(now - WINDOW)
        total = await session.scalar(select(func.sum(WrongCodeMinute.count)).where(
            WrongCodeMinute.minute >= since))
        return int(total or 0)

    async def _add_bot_wrong_code(self, session: AsyncSession) -> None:
        now = self.clock()
        if self.redis is not None:
            await self.store.log(BOT_WRONG_KEY, now, now - WINDOW)
            return
        await session.execute(delete(WrongCodeMinute).where(WrongCodeMinute.minute < _minute(now - WINDOW)))
        await upsert(session, WrongCodeMinute, {"minute": _minute(now), "count": 1}, ["minute"], [],
                     increment="count")


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
