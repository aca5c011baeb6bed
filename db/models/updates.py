"""The processed-update ledger, and the replies kept until they are sent."""

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow


def this_hour() -> datetime:
    """Now, rounded down to the hour: what the ledger keeps of when an update came."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


class ProcessedUpdate(Base):
    """One row per handled update, written in the same transaction as the update's effects.

    Only what de-duplication needs: the update's key, and the hour it was handled (for the
    pruning), so the ledger cannot be matched to the second with other rows or the logs."""

    __tablename__ = "processed_updates"

    # "telegram:<bot id>", "zalo:<bot id>", "console:<bot id>": update ids are per bot.
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=this_hour, index=True)


class KeptReply(Base):
    """Replies that must survive a crash between the commit and the send (a tip's receipt),
    sealed; the row is deleted once they are sent (bot/exactly_once/kept_replies.py).

    On PostgreSQL the table is UNLOGGED (migration 0008): its rows never reach the WAL, its
    archives or a replica. On SQLite deleted content is overwritten (secure_delete) and the
    WAL emptied after each deletion (db/services/updates.py)."""

    __tablename__ = "kept_replies"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # When they were kept: the sweep leaves a minute to the update's own handling.
    kept_at: Mapped[datetime] = mapped_column(default=utcnow)
    replies: Mapped[bytes] = mapped_column(LargeBinary)
