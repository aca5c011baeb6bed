"""The processed-update ledger: an update id seen once is never handled again."""

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow


class ProcessedUpdate(Base):
    """One row per handled update, written in the same transaction as the update's effects."""

    __tablename__ = "processed_updates"

    # "telegram:<bot id>", "zalo:<bot id>", "console:<bot id>": update ids are per bot.
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Replies that must survive a crash between the commit and the send (a tip's receipt),
    # sealed; cleared once sent (bot/exactly_once/kept_replies.py).
    replies: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
