"""The processed-update ledger that makes each update take effect once."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ProcessedUpdate
from db.services.sql import insert_ignore


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
    return (ProcessedUpdate.source == source, ProcessedUpdate.update_id == update_id)


async def keep_replies(session: AsyncSession, source: str, update_id: str, replies: bytes) -> None:
    """Keep, with the update's ledger row and in its transaction, replies still to be sent."""
    await session.execute(update(ProcessedUpdate).where(*_row(source, update_id)).values(replies=replies))


async def kept_replies(session: AsyncSession, source: str, update_id: str) -> bytes | None:
    """The replies an earlier handling of this update kept and did not get to send."""
    return await session.scalar(select(ProcessedUpdate.replies).where(*_row(source, update_id)))


async def forget_replies(session: AsyncSession, source: str, update_id: str) -> None:
    """The kept replies were sent: nothing of them stays in the database."""
    await session.execute(update(ProcessedUpdate).where(*_row(source, update_id)).values(replies=None))


async def updates_with_replies(session: AsyncSession, source: str, before: datetime) -> list[str]:
    """The updates of `source` handled before `before` whose kept replies are still unsent."""
    query = select(ProcessedUpdate.update_id).where(
        ProcessedUpdate.source == source, ProcessedUpdate.replies.is_not(None),
        ProcessedUpdate.processed_at < before,
    ).order_by(ProcessedUpdate.processed_at)
    return list(await session.scalars(query))
