"""The deliveries table: enqueue messages per recipient, and the worker's claim/record steps.

A row moves pending → sending (claimed by one worker, with a lease) → sent | failed |
unreachable, or back to pending for a retry. A row recorded as sent is never sent again; a row
left 'sending' by a worker that died is given back when its lease runs out and is sent again.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, case, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Delivery, Member
from db.models.utc import UTCDateTime

ERROR_LENGTH = 300
# The error of a row waiting because its channel's quota is used up (Zalo's 429): while such
# rows wait, the channel is paused (delivery/worker.py), and the operator is told so.
QUOTA_WAIT = "quota exceeded (429): the channel is paused"
# The start of the error of a row the channel refused for good (Zalo's 400/404).
REFUSED = "refused: "


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds: what to send, to whom."""

    id: int
    chat_id: str
    text: str
    member_id: int | None
    attempts: int
    channel: str = ""


def _insert(session: AsyncSession):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def enqueue_audience(
    session: AsyncSession,
    source: str,
    recipients: Select,
    texts: dict[str, str],
    default_locale: str,
    now: datetime,
    *,
    broadcast_id: int | None = None,
    reminder_id: int | None = None,
    urgent: bool = False,
) -> int:
    """One pending delivery per recipient (in their language) with one INSERT … SELECT.

    `recipients` is a query of (id, channel, user_id, locale); `texts` maps each locale to the
    rendered text. Recipients the source already reached are left alone. Returns rows added.
    """
    people = recipients.subquery()
    fallback = literal(texts[default_locale])
    text = case(
        *[(people.c.locale == locale, literal(body)) for locale, body in texts.items()
          if locale != default_locale],
        else_=fallback,
    ) if len(texts) > 1 else fallback
    rows = select(
        literal(source), literal(broadcast_id), literal(reminder_id), people.c.id,
        people.c.channel, people.c.user_id, text, literal(urgent), literal("pending"), literal(0),
        bindparam("now_at", now, type_=UTCDateTime()), bindparam("now_created", now, type_=UTCDateTime()),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    columns = ["source", "broadcast_id", "reminder_id", "member_id", "channel", "chat_id", "text",
               "urgent", "status", "attempts", "next_attempt_at", "created_at"]
    statement = (
        _insert(session)(Delivery).from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["source", "channel", "chat_id"])
    )
    result = await session.execute(statement)
    return result.rowcount


async def enqueue_one(
    session: AsyncSession, source: str, member: Member, text: str, now: datetime, urgent: bool = False
) -> bool:
    """A single message to a member (e.g. a report to a sender); False if the source had one."""
    statement = (
        _insert(session)(Delivery)
        .values(source=source, member_id=member.id, channel=member.channel, chat_id=member.user_id,
                text=text, urgent=urgent, status="pending", attempts=0, next_attempt_at=now,
                created_at=now)
        .on_conflict_do_nothing(index_elements=["source", "channel", "chat_id"])
    )
    return (await session.execute(statement)).rowcount == 1


async def claim(
    session: AsyncSession, channel: str, limit: int, now: datetime, worker: str, urgent_only: bool
) -> list[Claimed]:
    """Take up to `limit` due rows of a channel for this worker (marked 'sending').

    On PostgreSQL, FOR UPDATE SKIP LOCKED lets several workers claim at once without taking
    the same rows; SQLite serialises writers anyway.
    """
    query = (
        select(Delivery.id, Delivery.chat_id, Delivery.text, Delivery.member_id, Delivery.attempts,
               Delivery.channel)
        .where(Delivery.status == "pending", Delivery.channel == channel,
               Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if urgent_only:
        query = query.where(Delivery.urgent.is_(True))
    rows = [Claimed(*row) for row in await session.execute(query)]
    if rows:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in rows]))
            .values(status="sending", claimed_by=worker, claimed_at=now)
        )
    return rows


def _released() -> dict:
    return {"claimed_by": None, "claimed_at": None}


async def record_sent(session: AsyncSession, delivery_id: int, now: datetime) -> None:
    """The channel accepted the message: it is never sent again."""
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id)
        .values(status="sent", sent_at=now, attempts=Delivery.attempts + 1, last_error=None,
                **_released())
    )


async def record_retry(
    session: AsyncSession, delivery_id: int, at: datetime, error: str | None, counts: bool
) -> None:
    """Give the row back for another try at `at`; `counts` says whether the attempt failed
    (a channel's "retry after" is the channel's limit, not the message's fault)."""
    values = {"status": "pending", "next_attempt_at": at, **_released()}
    if counts:
        values["attempts"] = Delivery.attempts + 1
    if error is not None:
        values["last_error"] = error[:ERROR_LENGTH]
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


async def record_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    """No more tries: the row keeps the reason."""
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id)
        .values(status="failed", attempts=Delivery.attempts + 1, last_error=error[:ERROR_LENGTH],
                **_released())
    )


async def record_unreachable(
    session: AsyncSession, delivery_id: int, member_id: int | None, error: str, now: datetime
) -> None:
    """The recipient blocked the bot or is gone: mark the member and drop their other messages."""
    values = {"status": "unreachable", "last_error": error[:ERROR_LENGTH], **_released()}
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id)
        .values(attempts=Delivery.attempts + 1, **values))
    if member_id is not None:
        await mark_unreachable(session, member_id, error, now)


async def mark_unreachable(session: AsyncSession, member_id: int, error: str, now: datetime) -> None:
    """Audiences skip the member until they write again; their pending messages are dropped."""
    values = {"status": "unreachable", "last_error": error[:ERROR_LENGTH], **_released()}
    await session.execute(update(Member).where(Member.id == member_id).values(unreachable_at=now))
    await session.execute(
        update(Delivery).where(Delivery.member_id == member_id, Delivery.status == "pending")
        .values(**values))


async def record_refused(session: AsyncSession, delivery_id: int, error: str) -> None:
    """The channel refused this message for good: the row fails, marked as refused."""
    await record_failed(session, delivery_id, REFUSED + error)


async def refused_in_a_row(session: AsyncSession, member_id: int, channel: str, count: int) -> bool:
    """Were the member's last `count` finished messages on this channel all refused, while the
    channel delivered to someone else since the first of them? (When every send is refused the
    fault is the bot's, its token or address, not the member's.)"""
    last = (await session.execute(
        select(Delivery.id, Delivery.status, Delivery.last_error)
        .where(Delivery.member_id == member_id, Delivery.channel == channel,
               Delivery.status.in_(("sent", "failed")))
        .order_by(Delivery.id.desc()).limit(count))).all()
    if len(last) < count or not all(
            status == "failed" and (error or "").startswith(REFUSED) for _, status, error in last):
        return False
    delivered = select(Delivery.id).where(
        Delivery.channel == channel, Delivery.status == "sent", Delivery.id > last[-1].id).limit(1)
    return await session.scalar(delivered) is not None


async def quota_pauses(session: AsyncSession, now: datetime) -> dict[str, datetime]:
    """The channels paused because their quota is used up, and until when (the latest row
    waiting for it)."""
    query = (
        select(Delivery.channel, func.max(Delivery.next_attempt_at))
        .where(Delivery.status == "pending", Delivery.last_error == QUOTA_WAIT,
               Delivery.next_attempt_at > now)
        .group_by(Delivery.channel)
    )
    return {channel: until for channel, until in await session.execute(query)}


async def renew_leases(session: AsyncSession, worker: str, delivery_ids: list[int], now: datetime) -> None:
    """Keep the rows this worker holds claimed: it is alive. Only those it names: a row it
    claimed without hearing so (the answer to the claim was lost) must run out."""
    if delivery_ids:
        await session.execute(
            update(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.status == "sending",
                                   Delivery.claimed_by == worker)
            .values(claimed_at=now))


async def reclaim_expired(session: AsyncSession, before: datetime, now: datetime) -> int:
    """Give back rows whose worker stopped renewing its lease (it died mid-send): they will be
    sent again, since nobody can tell whether the channel got them."""
    result = await session.execute(
        update(Delivery).where(Delivery.status == "sending", Delivery.claimed_at < before)
        .values(status="pending", next_attempt_at=now, **_released()))
    return result.rowcount


async def busy_workers(session: AsyncSession, channels: list[str], since: datetime) -> int:
    """How many workers hold rows of these channels under a lease renewed since `since`: workers
    sending right now (an idle worker holds nothing, so it is not seen)."""
    query = select(func.count(func.distinct(Delivery.claimed_by))).where(
        Delivery.status == "sending", Delivery.channel.in_(channels), Delivery.claimed_at >= since)
    return await session.scalar(query) or 0


async def release(session: AsyncSession, delivery_ids: list[int], now: datetime) -> None:
    """Give back rows this worker claimed but did not send (it is stopping)."""
    if delivery_ids:
        await session.execute(
            update(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.status == "sending")
            .values(status="pending", next_attempt_at=now, **_released()))


async def outstanding(
    session: AsyncSession, channels: list[str], source_prefix: str | None = None
) -> tuple[int, datetime | None]:
    """Rows of these channels not yet final, and the earliest time one of them is due."""
    query = select(func.count(), func.min(Delivery.next_attempt_at)).where(
        Delivery.status.in_(("pending", "sending")), Delivery.channel.in_(channels))
    if source_prefix is not None:
        query = query.where(or_(Delivery.source == source_prefix,
                                Delivery.source.startswith(f"{source_prefix}:", autoescape=True)))
    count, earliest = (await session.execute(query)).one()
    return count, earliest


async def next_due(session: AsyncSession, channel: str, urgent_only: bool) -> datetime | None:
    """When the earliest pending row of a channel is due (None when there is none)."""
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.status == "pending", Delivery.channel == channel)
    if urgent_only:
        query = query.where(Delivery.urgent.is_(True))
    return await session.scalar(query)


async def counts_by_broadcast(session: AsyncSession, broadcast_ids: list[int]) -> dict[int, Counter]:
    """Deliveries of each broadcast by status, counted in SQL."""
    counts: dict[int, Counter] = {broadcast_id: Counter() for broadcast_id in broadcast_ids}
    if broadcast_ids:
        query = (
            select(Delivery.broadcast_id, Delivery.status, func.count())
            .where(Delivery.broadcast_id.in_(broadcast_ids))
            .group_by(Delivery.broadcast_id, Delivery.status)
        )
        for broadcast_id, status, number in await session.execute(query):
            counts[broadcast_id][status] = number
    return counts


async def mark_reachable(session: AsyncSession, member: Member) -> None:
    """The member wrote to the bot again, so messages may reach them again."""
    member.unreachable_at = None
    await session.flush()
