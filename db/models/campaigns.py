"""Campaigns: one year of the movement for an area, with its pledge text version and targets."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.areas import Area
from db.models.base import Base, utcnow

# The seed plans' targets (Đồng Tháp 2021): percentages, and models per commune.
SEED_TARGETS: dict[str, float] = {
    "households_reached_pct": 70,
    "households_pledged_pct": 100,
    "communes_safe_pct": 95,
    "agencies_safe_pct": 90,
    "agencies_registered_pct": 100,
    "models_per_commune": 1,
}


class Campaign(Base):
    """The movement's campaign for one calendar year in one area (usually a province)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("area_id", "year"),
        CheckConstraint("starts_on <= ends_on", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    year: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    pledge_version: Mapped[str] = mapped_column(String(32))
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship(lazy="joined", innerjoin=True)
