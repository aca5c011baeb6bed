"""Requests to join a household that already has members: one of them, or the hamlet head,
confirms that the newcomer belongs there."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base, utcnow
from db.models.households import Household
from db.models.members import Member

JOIN_REQUEST_STATUSES = ("pending", "approved", "refused")


class JoinRequest(Base):
    """A member asks to join a household. `note` is what they wrote to be recognised ("con
    trai ông An"); it is erased once the request is decided. Deleted with the member."""

    __tablename__ = "join_requests"
    __table_args__ = (CheckConstraint("status IN ('pending', 'approved', 'refused')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]

    household: Mapped[Household] = relationship(lazy="joined", innerjoin=True)
    member: Mapped[Member] = relationship(lazy="joined", innerjoin=True, foreign_keys=[member_id])
