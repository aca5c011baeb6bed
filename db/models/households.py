"""Households: each belongs to one hamlet; members join them from chat."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow


class Household(Base):
    """A household (hộ gia đình) of a hamlet, identified by its code within the hamlet."""

    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("hamlet_id", "code"),
        CheckConstraint("size >= 1 AND size <= 99", name="size"),
        CheckConstraint("status IN ('active', 'pending', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hamlet_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    head_name: Mapped[str] = mapped_column(String(200))
    # The head's name folded (lower case, no diacritics) for accent-insensitive search.
    head_name_key: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int] = mapped_column(SmallInteger, default=1)
    # "pending": registered by a resident in chat, waiting for the hamlet head's approval.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # "unnested": loaded with a member (members LEFT JOIN households), the hamlet is a plain
    # LEFT JOIN too. Nested, (households JOIN areas) made SQLite scan every household on
    # each member lookup, that is on every update.
    hamlet: Mapped[Area] = relationship(lazy="joined", innerjoin="unnested")
