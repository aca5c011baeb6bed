"""Broadcasts: a message from a hamlet head or officer to an audience of an area, now or later."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow
from db.models.members import Member
from db.models.milestones import AUDIENCE_CHECK
from db.models.utc import UTCDateTime

BROADCAST_STATUSES = ("scheduled", "sending", "done", "cancelled", "missed")


class Broadcast(Base):
    """One broadcast; its recipients are rows of `deliveries` once it starts sending."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(AUDIENCE_CHECK, name="audience"),
        CheckConstraint(
            "status IN ('scheduled', 'sending', 'done', 'cancelled', 'missed')", name="status"),
        Index("ix_broadcasts_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None when sent by an operator from the command line.
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    audience: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(3000))
    # An outreach article sent instead of (or with) the text; articles come from content/.
    article_id: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"))

    area: Mapped[Area] = relationship(lazy="joined", innerjoin=True)
    sender: Mapped[Member | None] = relationship(lazy="joined", foreign_keys=[sender_id])
