"""Household pledges: the cam kết giao ước thi đua, one per household per campaign."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow


class Pledge(Base):
    """A household's pledge for a campaign; withdrawing keeps the row with its reason.

    The confirming member's role is kept (not their name), and the link to the member
    is dropped if they ask to be forgotten: the pledge stays the household's. Confirmed again
    after a withdrawal, it keeps the date and reason of the last withdrawal.
    """

    __tablename__ = "pledges"
    __table_args__ = (
        UniqueConstraint("household_id", "campaign_id"),
        CheckConstraint("status IN ('confirmed', 'withdrawn')", name="status"),
        Index("ix_pledges_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    pledge_version: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    confirmed_by_role: Mapped[str] = mapped_column(String(16))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(String(500))


class PledgeEvent(Base):
    """The history of a household's pledge: each confirmation and withdrawal, with the member
    who made it (their id and role, never a name; the id goes if they ask to be forgotten)."""

    __tablename__ = "pledge_events"
    __table_args__ = (CheckConstraint("kind IN ('confirmed', 'withdrawn')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
