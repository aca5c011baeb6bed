"""The processed-update ledger that makes each update take effect once."""

from datetime import datetime

from sqlalchemy import delete
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
