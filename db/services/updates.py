"""The processed-update ledger that makes each update take effect once, and the replies kept
with an update until they are sent (a tip's receipt), erased without residue."""

import logging
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import KeptReply, ProcessedUpdate, utcnow
from db.services.sql import insert_ignore, upsert
from db.session import SQLITE_BUSY_MS, write_lock

log = logging.getLogger(__name__)


async def record_update(session: AsyncSession, source: str, update_id: str) -> bool:
    """Record the update in the current transaction; False when it was recorded before.

    On PostgreSQL a second instance inserting the same key waits for the first
    transaction and then inserts nothing, so only one of them handles the update.
    """
    values = {"source": source, "update_id": update_id}
    return await insert_ignore(session, ProcessedUpdate, values, ["source", "update_id"])


async def prune_updates(session: AsyncSession, before: datetime) -> int:
    """Forget ledger rows older than `before` (Telegram redelivers for 24 hours at most)."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return result.rowcount


def _row(source: str, update_id: str):
    return (KeptReply.source == source, KeptReply.update_id == update_id)


async def keep_replies(session: AsyncSession, source: str, update_id: str, replies: bytes) -> None:
    """Keep, in the update's transaction, replies still to be sent (replacing earlier ones)."""
    await upsert(session, KeptReply, {"source": source, "update_id": update_id, "replies": replies,
                                      "kept_at": utcnow()}, ["source", "update_id"], ["replies"])


async def kept_replies(session: AsyncSession, source: str, update_id: str) -> bytes | None:
    """The replies an earlier handling of this update kept and did not get to send."""
    return await session.scalar(select(KeptReply.replies).where(*_row(source, update_id)))


async def forget_replies(session: AsyncSession, source: str, update_id: str) -> None:
    """The kept replies were sent: their row goes (scrub_kept_replies then removes its traces)."""
    await session.execute(delete(KeptReply).where(*_row(source, update_id)))


async def updates_with_replies(session: AsyncSession, source: str, before: datetime) -> list[str]:
    """The updates of `source` whose replies, kept before `before`, are still unsent."""
    query = select(KeptReply.update_id).where(
        KeptReply.source == source, KeptReply.kept_at < before,
    ).order_by(KeptReply.kept_at)
    return list(await session.scalars(query))


async def scrub_kept_replies(engine: AsyncEngine) -> bool:
    """Remove what a deleted kept reply leaves on disk; False when it must wait for a later
    call (another transaction holds the table or a reader the WAL).

    SQLite overwrites deleted content with zeros (secure_delete, db/session.py), but the row's
    earlier page versions stay in the WAL until a checkpoint resets it, hundreds of updates
    later: here the WAL is checkpointed and truncated to nothing at once. On PostgreSQL the
    table is UNLOGGED (never in the WAL), but a deleted row stays in its pages until they are
    reused: once no reply is kept any more, the table is truncated, which gives it new files.
    """
    if engine.dialect.name == "sqlite":
        async with write_lock(engine), engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            # A reader (a report, the desk) keeps the WAL busy: never wait for it here, holding
            # the write lock (the busy timeout is 30 s); the next erasure checkpoints again.
            await driver.execute("PRAGMA busy_timeout=0")
            try:
                cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _frames, _done = await cursor.fetchone()
                await cursor.close()
            finally:
                await driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        return not busy
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL lock_timeout = '1s'"))
            await connection.execute(text("LOCK TABLE kept_replies IN ACCESS EXCLUSIVE MODE"))
            if await connection.scalar(text("SELECT EXISTS (SELECT 1 FROM kept_replies)")):
                return False  # others wait to be sent: their turn truncates
            await connection.execute(text("TRUNCATE kept_replies"))
    except DBAPIError as error:  # the lock was not free within the second
        log.info("kept replies not scrubbed yet: %s", type(error.orig).__name__)
        return False
    return True
