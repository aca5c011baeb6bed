"""Deliveries: one outbound message per recipient chat, drained by the delivery worker."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow
from db.models.utc import UTCDateTime

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "unreachable")
FINAL_STATUSES = ("sent", "failed", "unreachable")


class Delivery(Base):
    """A message waiting for, being given to, or given to a channel; never sent twice once 'sent'.

    `source` says what it belongs to ("broadcast:12", "reminder:7", "broadcast:12:report"),
    and a source reaches each chat once.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("source", "channel", "chat_id"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'unreachable')", name="status"),
        # The worker's claim: due rows of a channel, oldest first.
        Index("ix_deliveries_due", "status", "channel", "next_attempt_at"),
        Index("ix_deliveries_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    # Telegram HTML, already in the recipient's language; text-only channels strip the tags.
    text: Mapped[str] = mapped_column(Text)
    # Urgent messages go out during quiet hours too.
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While 'sending': which worker holds the row and since when (its lease, renewed while alive).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
