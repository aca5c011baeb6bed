"""Tally snapshots: one number per campaign, area, indicator and day, for progress over time."""

from datetime import date

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Tally(Base):
    """The value of a counted indicator for an area (its whole subtree) on a day."""

    __tablename__ = "tallies"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Float)
