"""Outreach: who read which article (reach), and quiz attempts."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, utcnow


class Reading(Base):
    """A member marked an article read ("Đã đọc") or passed its quiz; once per article version.

    The household and campaign are copied at reading time, so reach stays counted for the
    household when the member later asks to be forgotten (member_id becomes NULL).
    """

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("member_id", "article_id", "article_version"),
        Index("ix_readings_campaign_household", "campaign_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    article_id: Mapped[str] = mapped_column(String(64))
    article_version: Mapped[str] = mapped_column(String(16))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizAttempt(Base):
    """A member's answers to an article's quiz; the first finished attempt is the score."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("member_id", "article_id", "article_version"),
        Index("ix_quiz_attempts_campaign_household", "campaign_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    article_id: Mapped[str] = mapped_column(String(64))
    article_version: Mapped[str] = mapped_column(String(16))
    # The chosen option index of each question answered so far, in order.
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[int] = mapped_column(SmallInteger, default=0)
    total: Mapped[int] = mapped_column(SmallInteger)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
