"""The processed-update ledger that makes each update take effect once."""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ProcessedUpdate


async def record_update(session: AsyncSession, source: str, update_id: str) -> bool:
    """Record the update in the current transaction; False when it was recorded before.

    On PostgreSQL a second instance inserting the same key waits for the first
    transaction and then inserts nothing, so only one of them handles the update.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedUpdate)
        .values(source=source, update_id=update_id)
        .on_conflict_do_nothing(index_elements=["source", "update_id"])
    )
    result = await session.execute(statement)
    return result.rowcount == 1


async def prune_updates(session: AsyncSession, before: datetime) -> int:
    """Forget ledger rows older than `before` (Telegram redelivers for 24 hours at most)."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return result.rowcount
