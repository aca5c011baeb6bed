"""Members: a chat user on one channel, in at most one household, with a role scoped to an area."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow
from db.models.households import Household

ROLES = ("resident", "hamlet_head", "officer", "admin")
CHANNELS = ("telegram", "zalo", "console")


class Member(Base):
    """A user of one channel; the same person on two channels is two members."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("channel", "user_id"),
        CheckConstraint("role IN ('resident', 'hamlet_head', 'officer', 'admin')", name="role"),
        CheckConstraint("channel IN ('telegram', 'zalo', 'console')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="resident")
    # The area the role applies to (and everything below it); none means the whole deployment.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # The agency, enterprise or school this member represents (joined with its code), if any;
    # not loaded with the member: only the representative's own commands read it.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True)
    # The explicit "Đồng ý" to the privacy notice: when, and which version of the notice.
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(16))
    # Set when the channel says the user blocked the bot or is gone (403); audiences skip them
    # until they write to the bot again.
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    household: Mapped[Household | None] = relationship(lazy="joined")
    area: Mapped[Area | None] = relationship(lazy="joined")
